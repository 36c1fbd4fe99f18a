/**
 * Native-resolution evidence benchmark: one 4000×3000 JPEG (a shipped photo enlarged, q92) through the shipped
 * detector (models/npr-tiny-mini, onnxruntime CPU) as the runner serves it today (one 64-px centre crop) and through
 * the tiled path its card would ask for with `input.evidence` (centre + grid, 64-px native tiles, one batch per image,
 * aggregated), each with the native libjpeg-turbo decoder and with sharp alone, one image at a time and with two
 * decodes in flight. Prints images/s and the tiled/today ratio. The model folder is copied; models/ is not changed.
 *
 *   npx tsx bench/evidence-tiles.ts [--rounds 8] [--max-tiles 16]
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { ModelCard, type ModelEvidence } from '@genimage/shared'
import sharp from 'sharp'
import { Limiter } from '@genimage/gpu-runner'
import { runModel } from '@genimage/gpu-runner'
import { type LoadedModel, loadModel } from '@genimage/gpu-runner'
import { aggregateTileRows } from '@genimage/gpu-runner'
import { createTileTransform, planTiles } from '@genimage/imaging'
import { createTransform } from '@genimage/imaging'

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '8' }, 'max-tiles': { type: 'string', default: '16' } } })
const ROUNDS = Number(args.rounds)
const here = fileURLToPath(new URL('.', import.meta.url))
const MAX_PIXELS = 40_000_000

const dir = await mkdtemp(join(tmpdir(), 'genimage-evidence-bench-'))
try {
  await cp(join(here, '../models/npr-tiny-mini'), dir, { recursive: true })
  const card = ModelCard.parse(JSON.parse(await readFile(join(dir, 'card.json'), 'utf8')))
  const evidence: ModelEvidence = { mode: 'tiles', crop: 64, maxTiles: Number(args['max-tiles']), aggregate: { rule: 'mean-top-k', k: 3 }, downscale: 'never' }
  await writeFile(join(dir, 'card.json'), JSON.stringify({ ...card, input: { ...card.input, evidence } }))
  const model = (await loadModel(dir, { providers: ['cpu'], maxPixels: MAX_PIXELS })) as LoadedModel
  const photo = join(here, '../packages/dataset-tools/photos/plasma-kite.jpg')
  const jpeg = new Uint8Array(await sharp(photo).resize(4000, 3000, { fit: 'cover', kernel: 'lanczos3' }).jpeg({ quality: 92 }).toBuffer())
  const tiles = planTiles(4000, 3000, evidence).length
  console.log(
    `4000×3000 JPEG q92, ${(jpeg.byteLength / 1e6).toFixed(2)} MB; ${tiles} tiles of 64 px (maxTiles ${evidence.maxTiles}); ${ROUNDS} images per side`,
  )

  const today = async (decoder?: null) => {
    const transform = createTransform(card.input, { maxPixels: MAX_PIXELS, ...(decoder === null ? { jpegDecoder: null } : {}) })
    return async (bytes: Uint8Array) => (await runModel(model, [await transform(bytes)]))[1] as number
  }
  const tiled = async (decoder?: null) => {
    const transform = createTileTransform(model.card.input, { maxPixels: MAX_PIXELS, ...(decoder === null ? { jpegDecoder: null } : {}) })
    return async (bytes: Uint8Array) => {
      const tensors = await transform(bytes)
      const flat = await runModel(model, tensors)
      const rows = tensors.map((_, i) => flat.subarray(i * 2, i * 2 + 2))
      return aggregateTileRows(rows, evidence.aggregate, 0)[1] as number
    }
  }
  const imagesPerSecond = async (score: (bytes: Uint8Array) => Promise<number>, inFlight: number) => {
    await score(jpeg)
    const limiter = new Limiter(inFlight)
    const started = performance.now()
    const scores = await Promise.all(Array.from({ length: ROUNDS }, () => limiter.run(() => score(jpeg))))
    const seconds = (performance.now() - started) / 1000
    return { rate: ROUNDS / seconds, score: scores[0] as number }
  }
  for (const [decoder, label] of [
    [undefined, 'native libjpeg-turbo'],
    [null, 'sharp only'],
  ] as const) {
    for (const inFlight of [1, 2]) {
      const a = await imagesPerSecond(await today(decoder), inFlight)
      const b = await imagesPerSecond(await tiled(decoder), inFlight)
      console.log(
        `${label.padEnd(20)} in flight ${inFlight}: today (centre 64 crop) ${a.rate.toFixed(2)} img/s, P(ai) ${a.score.toFixed(3)} | ` +
          `tiled (${tiles} tiles) ${b.rate.toFixed(2)} img/s, P(ai) ${b.score.toFixed(3)} | tiled/today ${(b.rate / a.rate).toFixed(2)}×`,
      )
    }
  }
  await model.session.release()
} finally {
  await rm(dir, { recursive: true, force: true })
}
