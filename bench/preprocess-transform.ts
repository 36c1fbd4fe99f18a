/**
 * Preprocessing benchmark: decode a 512×512 JPEG → 224×224 normalised NCHW float32 tensor with the runner's
 * transform (sharp + cropToTensor, derived from a model input config) vs Pillow 9.4 + numpy doing the same
 * (bench/preprocess-pillow.py, Debian python3-pil / python3-numpy), in the same run on the same files.
 *
 * The runner side is measured at several decodes in flight (DECODE_CONCURRENCY) and libvips thread counts
 * (sharp.concurrency), which is how the runner's defaults were chosen. Pillow runs in one process and in one
 * process per core.
 *
 *   npx tsx bench/preprocess-transform.ts [--images 16] [--rounds 6]
 */
import { spawnSync } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { InputConfig } from '@genimage/shared'
import sharp from 'sharp'
import { Limiter } from '../packages/gpu-runner/src/inference/limiter.ts'
import { createTransform } from '../packages/gpu-runner/src/preprocess/transform.ts'

const { values: args } = parseArgs({ options: { images: { type: 'string', default: '16' }, rounds: { type: 'string', default: '6' } } })
const IMAGES = Number(args.images)
const ROUNDS = Number(args.rounds)
const cores = availableParallelism()
const python = '/usr/bin/python3'
const here = fileURLToPath(new URL('.', import.meta.url))

const config: InputConfig = {
  name: 'image',
  layout: 'NCHW',
  height: 224,
  width: 224,
  resize: 'shorter-side-center-crop',
  cropPct: 0.875,
  interpolation: 'bilinear',
  channelOrder: 'RGB',
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
}

async function makeJpegs(dir: string): Promise<Uint8Array[]> {
  const photos = join(here, '../packages/dataset-tools/photos')
  const names = (await readdir(photos)).filter((f) => f.endsWith('.jpg')).sort().slice(0, IMAGES)
  const out: Uint8Array[] = []
  for (const [i, name] of names.entries()) {
    const jpeg = await sharp(join(photos, name)).resize(512, 512, { fit: 'cover' }).jpeg({ quality: 95 }).toBuffer()
    await writeFile(join(dir, `${String(i).padStart(3, '0')}.jpg`), jpeg)
    out.push(new Uint8Array(jpeg))
  }
  return out
}

async function runnerTransform(images: Uint8Array[], inFlight: number): Promise<number> {
  const transform = createTransform(config, { maxPixels: 40_000_000 })
  const limiter = new Limiter(inFlight)
  await Promise.all(images.slice(0, 4).map((im) => transform(im)))
  const started = performance.now()
  const jobs: Promise<Float32Array>[] = []
  for (let r = 0; r < ROUNDS; r++) for (const im of images) jobs.push(limiter.run(() => transform(im)))
  const tensors = await Promise.all(jobs)
  if (tensors.some((t) => t.length !== 3 * 224 * 224)) throw new Error('wrong tensor size')
  return (images.length * ROUNDS) / ((performance.now() - started) / 1000)
}

function pillow(dir: string, processes: number): number {
  const run = spawnSync(python, [join(here, 'preprocess-pillow.py'), dir, String(ROUNDS), String(processes)], { encoding: 'utf8' })
  if (run.status !== 0) throw new Error(`Pillow peer failed (apt-get install python3-pil python3-numpy):\n${run.stderr}`)
  return JSON.parse(run.stdout.trim().split('\n').at(-1) as string).images_per_s
}

const dir = await mkdtemp(join(tmpdir(), 'genimage-preprocess-'))
try {
  const images = await makeJpegs(dir)
  console.log(`decode 512×512 JPEG → 224×224 normalised tensor; ${images.length} images × ${ROUNDS} rounds; ${cores} cores; UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}`)
  const pillowOne = pillow(dir, 1)
  const pillowAll = pillow(dir, cores)
  console.log(`Pillow+numpy, 1 process:        ${pillowOne.toFixed(1)} img/s`)
  console.log(`Pillow+numpy, ${cores} processes:       ${pillowAll.toFixed(1)} img/s`)
  let best = 0
  for (const vipsThreads of [1, cores]) {
    sharp.concurrency(vipsThreads)
    for (const inFlight of [1, 2, 4, 8, 16]) {
      const rate = await runnerTransform(images, inFlight)
      best = Math.max(best, rate)
      console.log(`runner transform, sharp.concurrency ${vipsThreads}, ${String(inFlight).padStart(2)} in flight: ${rate.toFixed(1)} img/s  (${(rate / pillowOne).toFixed(2)}× Pillow 1 process, ${(rate / pillowAll).toFixed(2)}× Pillow ${cores} processes)`)
    }
  }
  const pillowAgain = pillow(dir, cores)
  console.log(`Pillow+numpy, ${cores} processes (again): ${pillowAgain.toFixed(1)} img/s`)
  console.log(`\nbest runner transform ${best.toFixed(1)} img/s = ${(best / pillowOne).toFixed(2)}× Pillow (1 process), ${(best / Math.max(pillowAll, pillowAgain)).toFixed(2)}× Pillow (${cores} processes, best of two runs)`)
} finally {
  await rm(dir, { recursive: true, force: true })
}
