import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { createApp, createLibsqlStore, RunnerPool } from '@genimage/edge-api'
import { createRunnerApp, loadModelRepository } from '@genimage/gpu-runner'
import { DetectResponse, ModelCard } from '@genimage/shared'
import { createDb } from '@genimage/shared/db'
import { OnnxGraphBuilder } from '@genimage/shared/onnx'
import { Command } from 'commander'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest'
import { registerModelCommands } from '../src/commands/models.ts'

const repoRoot = resolve(import.meta.dirname, '../../..')
const bin = join(repoRoot, 'packages/cli/bin/genimage.js')
let dir: string

/** The brightness model: P(ai) = sigmoid(2m), m the mean of its 16 × 16 centre crop normalised to [−1, 1]. */
async function writeBrightnessModel(folder: string): Promise<string> {
  const b = new OnnxGraphBuilder()
  const x = b.input('image', 'float32', ['N', 3, 16, 16])
  const flat = b.node('Reshape', [b.node('ReduceMean', [x], { axes: [1, 2, 3], keepdims: 1 }), b.constInt64([-1, 1])])
  b.output(b.node('Concat', [b.node('Neg', [flat]), flat], { axis: 1 }, { output: 'logits' }), 'float32', ['N', 2])
  const bytes = b.toBytes()
  const sha256 = createHash('sha256').update(bytes).digest('hex')
  await mkdir(folder, { recursive: true })
  await writeFile(join(folder, 'model.onnx'), bytes)
  const input = { layout: 'NCHW', height: 16, width: 16, resize: 'center-crop', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] }
  const card = { name: 'brightness', version: '1', architecture: 'test', task: 'binary', labels: ['nature', 'ai'], sha256, input }
  await writeFile(join(folder, 'card.json'), JSON.stringify({ ...card, provenance: { kind: 'handmade', createdAt: '2026-12-01T00:00:00Z' } }, null, 2))
  return sha256
}

/** A flat grey photo of `level` (0–255) with a little texture, 40 × 30, as PNG or JPEG. */
const greyPhoto = (level: number, format: 'png' | 'jpeg') => {
  const pixels = Buffer.alloc(40 * 30 * 3, level)
  for (let i = 0; i < pixels.length; i += 7) pixels[i] = Math.min(255, level + 3)
  const image = sharp(pixels, { raw: { width: 40, height: 30, channels: 3 } })
  return format === 'png' ? image.png().toBuffer() : image.jpeg({ quality: 95 }).toBuffer()
}

/** A calibration photo folder as `genimage dataset photos fetch` writes it: the files and photos-calibration.json. */
async function writePhotos(folder: string, photos: { level: number; split: 'calibration' | 'test' }[]): Promise<void> {
  await mkdir(folder, { recursive: true })
  const entries = []
  for (const [i, photo] of photos.entries()) {
    const format = i % 2 === 0 ? 'png' : 'jpeg'
    const name = `photo-${i}.${format === 'png' ? 'png' : 'jpg'}`
    const bytes = await greyPhoto(photo.level, format)
    await writeFile(join(folder, name), bytes)
    const sha256 = createHash('sha256').update(bytes).digest('hex')
    entries.push({ name, package: 'test-photos', version: '1', path: `usr/share/${name}`, sha256, bytes: bytes.length, author: 'test' })
    Object.assign(entries[i] as object, { licence: 'CC0-1.0', width: 40, height: 30, format, split: photo.split })
  }
  await writeFile(join(folder, 'photos-calibration.json'), JSON.stringify({ description: 'test photos', suites: [], photos: entries }, null, 2))
}

// Calibration photos: dark, except two bright ones (160, 200) — at 5% of 20 one may be called ai, so the threshold
// has to clear the 160 photo. Test photos include a 150 one, which scores above 0.5 but under that threshold.
const CALIBRATION_LEVELS = [20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 100, 110, 120, 160, 200]
const TEST_LEVELS = [30, 60, 90, 150, 210, 240]

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genimage-calibrate-cli-'))
  await writeBrightnessModel(join(dir, 'models', 'brightness'))
  await writePhotos(join(dir, 'photos'), [
    ...CALIBRATION_LEVELS.map((level) => ({ level, split: 'calibration' as const })),
    ...TEST_LEVELS.map((level) => ({ level, split: 'test' as const })),
  ])
  await writePhotos(join(dir, 'test-only'), [{ level: 30, split: 'test' }])
  for (const [kind, levels] of [
    ['ai', [140, 170, 180, 190, 220, 230, 245, 250]],
    ['nature', [30, 50, 70, 90, 110, 130, 150, 170]],
  ] as const) {
    await mkdir(join(dir, 'mini', 'Toy', 'val', kind), { recursive: true })
    for (const [i, level] of levels.entries()) await writeFile(join(dir, 'mini', 'Toy', 'val', kind, `${i}.png`), await greyPhoto(level, 'png'))
  }
})
afterAll(() => rm(dir, { recursive: true, force: true }))

const genimage = async (...args: string[]) =>
  promisify(execFile)(process.execPath, [bin, ...args], { cwd: repoRoot, encoding: 'utf8' }).then(
    (done) => ({ status: 0, stdout: done.stdout, stderr: done.stderr }),
    (failed: { code: number; stdout: string; stderr: string }) => ({ status: failed.code, stdout: failed.stdout, stderr: failed.stderr }),
  )

async function detectThroughEdge(modelsDir: string, image: Uint8Array): Promise<DetectResponse> {
  const repository = await loadModelRepository(modelsDir, { providers: ['cpu'], maxPixels: 1_000_000 })
  expect(repository.problems).toEqual([])
  const runner = createRunnerApp({
    name: 'r1',
    version: '0',
    repository,
    maxBodyBytes: 1_000_000,
    serving: { batch: { maxBatchSize: 4, maxQueueDelayMs: 1, maxQueueSize: 8 }, decodeConcurrency: 2, inferenceWorker: false },
    log: () => {},
  })
  onTestFinished(runner.close)
  const fetchFn = (async (input: RequestInfo | URL, init?: RequestInit) => runner.app.fetch(new Request(input, init))) as typeof fetch
  const edge = createApp({
    store: createLibsqlStore(await createDb(':memory:')),
    runners: new RunnerPool(['http://r1'], { refreshMs: 0, fetchFn }),
    log: () => {},
  })
  const body = new FormData()
  body.append('image', new Blob([image as Uint8Array<ArrayBuffer>]), 'photo.png')
  const response = await edge.request('/v1/detect', { method: 'POST', body })
  expect(response.status).toBe(200)
  return DetectResponse.parse(await response.json())
}

describe('genimage models calibrate', () => {
  it('fits on the calibration photos, measures on the test photos, writes a card the runner serves and the edge answers by', async () => {
    const modelDir = join(dir, 'models', 'brightness')
    const sha256 = ModelCard.parse(JSON.parse(await readFile(join(modelDir, 'card.json'), 'utf8'))).sha256
    const run = await genimage('models', 'calibrate', modelDir, '--photos', join(dir, 'photos'), '--generated', join(dir, 'mini'), '--write', '--json')
    expect(run.stderr).toContain('calibrate: scored calibration photos 20/20 in 5 encodings')
    expect(run.status).toBe(0)
    const result = JSON.parse(run.stdout)
    expect(result.written).toBe(true)
    expect(result.thresholdChoice.met).toBe(true)
    // Before: 0.5 on the raw probability calls the 150, 210 and 240 test photos ai; after, only the two brightest remain.
    expect(result.before.realPhotos[0]).toMatchObject({ encoding: 'as-is', count: 6, falsePositives: 3 })
    expect(result.after.realPhotos.map((r: { falsePositives: number }) => r.falsePositives)).toEqual([2, 2, 2, 2, 2])

    const card = ModelCard.parse(JSON.parse(await readFile(join(modelDir, 'card.json'), 'utf8')))
    expect(card.sha256).toBe(sha256)
    expect(card.calibration).toMatchObject({ method: 'temperature', threshold: result.calibration.threshold })
    expect(card.calibration?.fittedOn.count).toBe(20 * 5 + 4)
    expect(card.realPhotoFalsePositives?.encodings.map((e) => e.encoding)).toEqual(['as-is', 'png', 'jpeg-q75', 'jpeg-q85', 'jpeg-q95'])
    expect(card.realPhotoFalsePositives?.encodings[0]).toMatchObject({ count: 6, falsePositives: 2, rate: 2 / 6 })
    expect(card.realPhotoFalsePositives?.uncalibrated?.encodings[0]).toMatchObject({ count: 6, falsePositives: 3 })
    // Generated side, held-out half (4 of 8): both rules on record, the new one first.
    const [after, before] = card.metrics.filter((m) => m.split.startsWith('val, generated images only'))
    expect(after?.split).toContain(`at the calibrated threshold ${result.calibration.threshold.toFixed(4)}`)
    expect(before?.split).toContain('at 0.5 on the uncalibrated probability')
    expect(after).toMatchObject({ dataset: 'GenImage-mini (not GenImage)', count: 4, accuracy: result.after.generated.accuracy })
    expect(before?.accuracy).toBe(result.before.generated.accuracy)

    const mid = await detectThroughEdge(join(dir, 'models'), await greyPhoto(150, 'png'))
    expect(mid.threshold_source).toBe('calibration')
    expect(mid.threshold).toBe(card.calibration?.threshold)
    const [image] = mid.images
    expect(image?.ai_generated).toBeGreaterThan(0.5)
    expect(image?.calibrated_probability).toBeLessThan(mid.threshold)
    expect(image?.verdict).toBe('real')
  })

  it('refuses bad input with a code and exit status 2', async () => {
    const modelDir = join(dir, 'models', 'brightness')
    const cases = [
      { args: [modelDir, '--photos', join(dir, 'absent')], error: /models calibrate: not_a_directory: --photos .*absent is not a directory/ },
      { args: [modelDir, '--photos', join(dir, 'test-only')], error: /no_calibration_photos: no photo of the calibration split/ },
      { args: [join(dir, 'models', 'absent'), '--photos', join(dir, 'photos')], error: /model_not_found: no model folder/ },
      {
        args: [modelDir, '--photos', join(dir, 'photos'), '--generated', join(dir, 'photos')],
        error: /no_generated_images: --generated: no generated val images/,
      },
    ]
    // In process (the same command the binary registers), so four refusals cost no process start-up each.
    for (const { args, error } of cases) {
      const printed = vi.spyOn(console, 'error').mockImplementation(() => {})
      const progress = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
      const program = new Command('genimage').exitOverride()
      registerModelCommands(program)
      try {
        await program.parseAsync(['models', 'calibrate', ...args], { from: 'user' })
        expect(process.exitCode, args.join(' ')).toBe(2)
        expect(printed.mock.calls.flat().join('\n')).toMatch(error)
      } finally {
        printed.mockRestore()
        progress.mockRestore()
        process.exitCode = undefined
      }
    }
  })
})
