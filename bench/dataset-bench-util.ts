import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** Wall time of a command in milliseconds; throws when it fails. */
export function timeCommand(command: string, args: string[], env?: NodeJS.ProcessEnv): { ms: number; stdout: string } {
  const started = performance.now()
  const result = spawnSync(command, args, { encoding: 'utf8', env: env ?? process.env, maxBuffer: 256 * 1024 * 1024 })
  const ms = performance.now() - started
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`)
  return { ms, stdout: result.stdout }
}

/** Wall time, peak resident memory (MiB, GNU time's `%M`) and CPU seconds (user + system) of a command. */
export function timeWithPeakMemory(command: string, args: string[]): { ms: number; peakMiB: number; cpuMs: number; stdout: string } {
  const started = performance.now()
  const result = spawnSync('/usr/bin/time', ['-f', '%M %U %S', command, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  const ms = performance.now() - started
  if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr}`)
  const lines = result.stderr.trim().split('\n')
  const [peakKiB, user, system] = lines[lines.length - 1]!.split(' ').map(Number) as [number, number, number]
  return { ms, peakMiB: peakKiB / 1024, cpuMs: (user + system) * 1000, stdout: result.stdout }
}

/** Writes `count` small files spread over GenImage's layout (8 generators × train/val × ai/nature). */
export function writeSyntheticTree(root: string, count: number, bytesPerFile = 64): void {
  const generators = ['Midjourney', 'SD_V1.4', 'SD_V1.5', 'ADM', 'GLIDE', 'Wukong', 'VQDM', 'BigGAN']
  const leaves = generators.flatMap((g) => ['train', 'val'].flatMap((s) => ['ai', 'nature'].map((l) => join(root, g, s, l))))
  for (const leaf of leaves) mkdirSync(leaf, { recursive: true })
  const body = Buffer.alloc(bytesPerFile, 7)
  for (let i = 0; i < count; i++) {
    const leaf = leaves[i % leaves.length]!
    writeFileSync(join(leaf, `${i}${i % 2 ? '.png' : '.JPEG'}`), body)
  }
}

export function ratioLine(name: string, ours: number, peer: number, target: number): string {
  const ratio = peer / ours
  return `${name}: ours ${ours.toFixed(0)} ms, peer ${peer.toFixed(0)} ms → ${ratio.toFixed(2)}× the peer's speed (target ≥ ${target}×) ${ratio >= target ? 'PASS' : 'FAIL'}`
}
