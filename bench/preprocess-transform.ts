/**
 * Preprocessing benchmark: decode a 512×512 JPEG → 224×224 normalised NCHW float32 tensor with the runner's
 * transform (derived from a model input config) vs Pillow 9.4 + numpy doing the same (bench/preprocess-pillow.py,
 * Debian python3-pil / python3-numpy), in the same run on the same files.
 *
 * Runner sides: the default transform (plain JPEGs through the native libjpeg-turbo addon, decoded at the DCT
 * scale the resize allows, as libvips' shrink-on-load does; see packages/imaging/src/scaled-jpeg.ts)
 * and sharp alone, each at several decodes in flight. Pillow sides: one process and one process per core, with
 * a full decode (the plain script) and with `Image.draft` (Pillow's own DCT-scaled decode: the closest peer to
 * the native path).
 *
 *   npx tsx bench/preprocess-transform.ts [--images 16] [--rounds 6]
 */
import { spawnSync } from 'node:child_process'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { InputConfig } from '@genimage/shared'
import { resolveZooModel } from '@genimage/shared/zoo'
import sharp from 'sharp'
import { Limiter } from '@genimage/gpu-runner'
import { scaledJpegDecoder } from '@genimage/imaging'
import { createTransform } from '@genimage/imaging'

const { values: args } = parseArgs({ options: { images: { type: 'string', default: '16' }, rounds: { type: 'string', default: '6' } } })
const IMAGES = Number(args.images)
const ROUNDS = Number(args.rounds)
const cores = availableParallelism()
const python = '/usr/bin/python3'
const here = fileURLToPath(new URL('.', import.meta.url))

/** ResNet-50's eval transform: shorter side to 256, centre 224 crop, ImageNet normalisation. */
const config: InputConfig = resolveZooModel('resnet50').input

async function makeJpegs(dir: string): Promise<Uint8Array[]> {
  const photos = join(here, '../packages/dataset-tools/photos')
  const names = (await readdir(photos))
    .filter((f) => f.endsWith('.jpg'))
    .sort()
    .slice(0, IMAGES)
  const out: Uint8Array[] = []
  for (const [i, name] of names.entries()) {
    const jpeg = await sharp(join(photos, name)).resize(512, 512, { fit: 'cover' }).jpeg({ quality: 95 }).toBuffer()
    await writeFile(join(dir, `${String(i).padStart(3, '0')}.jpg`), jpeg)
    out.push(new Uint8Array(jpeg))
  }
  return out
}

async function runnerTransform(images: Uint8Array[], inFlight: number, jpegDecoder?: null): Promise<number> {
  const transform = createTransform(config, { maxPixels: 40_000_000, ...(jpegDecoder === null ? { jpegDecoder } : {}) })
  const limiter = new Limiter(inFlight)
  await Promise.all(images.slice(0, 4).map((im) => transform(im)))
  const started = performance.now()
  const jobs: Promise<Float32Array>[] = []
  for (let r = 0; r < ROUNDS; r++) for (const im of images) jobs.push(limiter.run(() => transform(im)))
  const tensors = await Promise.all(jobs)
  if (tensors.some((t) => t.length !== 3 * 224 * 224)) throw new Error('wrong tensor size')
  return (images.length * ROUNDS) / ((performance.now() - started) / 1000)
}

function pillow(dir: string, processes: number, draft = false): number {
  const run = spawnSync(python, [join(here, 'preprocess-pillow.py'), dir, String(ROUNDS), String(processes), ...(draft ? ['draft'] : [])], { encoding: 'utf8' })
  if (run.status !== 0) throw new Error(`Pillow peer failed (apt-get install python3-pil python3-numpy):\n${run.stderr}`)
  return JSON.parse(run.stdout.trim().split('\n').at(-1) as string).images_per_s
}

const dir = await mkdtemp(join(tmpdir(), 'genimage-preprocess-'))
try {
  const images = await makeJpegs(dir)
  console.log(
    `decode 512×512 JPEG → 224×224 normalised tensor; ${images.length} images × ${ROUNDS} rounds; ${cores} cores; UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}`,
  )
  const native = scaledJpegDecoder()
  console.log(`runner JPEG decoder: ${native.reason}`)
  const peers = { full1: pillow(dir, 1), fullAll: pillow(dir, cores), draft1: pillow(dir, 1, true), draftAll: pillow(dir, cores, true) }
  console.log(`Pillow+numpy, full decode, 1 process:   ${peers.full1.toFixed(1)} img/s`)
  console.log(`Pillow+numpy, full decode, ${cores} processes: ${peers.fullAll.toFixed(1)} img/s`)
  console.log(`Pillow+numpy, draft decode, 1 process:  ${peers.draft1.toFixed(1)} img/s`)
  console.log(`Pillow+numpy, draft decode, ${cores} processes: ${peers.draftAll.toFixed(1)} img/s`)
  const best = { native: 0, sharp: 0 }
  for (const side of ['native', 'sharp'] as const) {
    if (side === 'native' && !native.decoder) continue
    for (const inFlight of [2, 4, 8]) {
      const rate = await runnerTransform(images, inFlight, side === 'sharp' ? null : undefined)
      best[side] = Math.max(best[side], rate)
      console.log(
        `runner transform (${side === 'native' ? 'default, native JPEG' : 'sharp only'}), ${inFlight} in flight: ${rate.toFixed(1)} img/s  (${(rate / peers.fullAll).toFixed(2)}× Pillow full ${cores} processes)`,
      )
    }
  }
  const fullAgain = pillow(dir, cores)
  const fullAll = Math.max(peers.fullAll, fullAgain)
  const draftAll = Math.max(peers.draftAll, pillow(dir, cores, true))
  console.log(`Pillow+numpy, full decode, ${cores} processes (again): ${fullAgain.toFixed(1)} img/s`)
  console.log('')
  const runner = Math.max(best.native, best.sharp)
  console.log(
    `runner default ${runner.toFixed(1)} img/s = ${(runner / fullAll).toFixed(2)}× Pillow+numpy (${cores} processes, best of two runs; target ≥ 2×), ${(runner / peers.full1).toFixed(2)}× Pillow in 1 process`,
  )
  console.log(
    `against Pillow's own DCT-scaled decode (draft), ${cores} processes: ${(runner / draftAll).toFixed(2)}×; sharp alone: ${best.sharp.toFixed(1)} img/s = ${(best.sharp / fullAll).toFixed(2)}× Pillow full`,
  )
} finally {
  await rm(dir, { recursive: true, force: true })
}
