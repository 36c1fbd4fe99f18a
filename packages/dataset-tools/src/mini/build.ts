import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { DatasetError } from '../errors.ts'
import { forEachConcurrent } from '../pool.ts'
import { TOOL_FOLDER } from '../state.ts'
import { createHash } from 'node:crypto'
import { defaultAutoencoderPlan, prepareAutoencoder } from './autoencoder-cache.ts'
import { cropPixels, encodeImage, sampleRegion, type DecodedPhotoSize } from './crops.ts'
import { MINI_GENERATOR_FAMILY, type MiniFamily } from './families.ts'
import { createMiniGenerator, type GeneratorInputs, prepareFamily, TRAINED_FAMILIES, type TrainedFamily } from './family-networks.ts'
import type { MiniGeneratorName } from './generators.ts'
import { type MiniManifest, MINI_MANIFEST_FILE, validateMiniOptions } from './manifest.ts'
import type { NetworkRecord } from './network-cache.ts'
import { DEFAULT_PHOTOS_DIR, listPhotos, PhotoCache, splitPhotos } from './photos.ts'
import { streamFor } from './random.ts'
import { startTf } from './tf-runtime.ts'

/** JPEG quality of every `nature` image (ImageNet's files are mostly quality 96), and of `ai` images with `debias`. */
export const MINI_JPEG_QUALITY = 96
const BATCH = 8

export interface BuildMiniOptions {
  /** Folder of real photos to crop from; default: the photos shipped in `packages/dataset-tools/photos`. */
  photos?: string
  /** Same seed, same photos → byte-identical images. Default 1. */
  seed?: number
  /** Images per class (`ai`, `nature`) per generator in `train`. Default 500. */
  perClassTrain?: number
  /** Images per class per generator in `val`. Default 100. */
  perClassVal?: number
  /** Side of every image in pixels (multiple of 4). Default 128. */
  size?: number
  /** Save `ai` as JPEG at quality 96 like `nature`, so format cannot separate the classes. Default false. */
  debias?: boolean
  /** Subset of generators to build; default all of `MINI_GENERATOR_NAMES`. */
  generators?: readonly MiniGeneratorName[]
  /** Only generators of these families (see `MINI_GENERATOR_FAMILY`); combines with `generators` as an intersection. */
  families?: readonly MiniFamily[]
  /** Autoencoder training steps (default 360, about 1.5–2 minutes); small builds in tests use fewer. */
  autoencoderSteps?: number
  /**
   * Training steps per trained family (defaults in `DEFAULT_FAMILY_STEPS`: latent diffusion 900, pixel diffusion
   * 900, GAN 500 — the shipped weights); tests use a few. Other steps than the defaults never match shipped weights.
   */
  familySteps?: Partial<Record<TrainedFamily, number>>
  /** Train every network again, ignoring shipped and cached weights. Default false. */
  retrainGenerators?: boolean
  /** Folder of shipped generator weights (default `packages/dataset-tools/generators`). */
  shippedGeneratorsDir?: string
  onProgress?: (event: MiniProgress) => void
  /** Stops after the images in flight; the result says `interrupted` and a re-run continues. */
  signal?: AbortSignal
}

/** Progress of a build: `autoencoder` counts training steps, `images` counts files written or found complete. */
export interface MiniProgress {
  phase: 'photos' | 'autoencoder' | 'training' | 'images'
  generator?: string
  done: number
  total: number
}

export interface BuildMiniResult {
  /** What `mini.json` now holds; undefined when the build was interrupted. */
  manifest: MiniManifest | undefined
  /** Images written by this run and images found complete from an earlier run. */
  written: number
  skipped: number
  /** True when `signal` stopped the build early (no `mini.json` is written then). */
  interrupted: boolean
}

/**
 * Builds GenImage-mini in GenImage's layout, `<out>/<Generator>/{train,val}/{ai,nature}`: `nature` holds seeded
 * crops of real photos (JPEG q96), `ai` holds images the generators of `MINI_GENERATOR_NAMES` (six families, see
 * `MINI_GENERATOR_FAMILY`) made from other crops (PNG; JPEG q96 with `debias`). Train and val crops come from
 * disjoint photos. The autoencoder, diffusion and GAN networks train on the train photos only, or come from shipped
 * or cached weights with the same content key. Files are written under a temporary name and renamed, so an
 * interrupted build continues where it stopped when run again; `<out>/mini.json` records the build.
 *
 * @example
 * const { manifest } = await buildMini('data/genimage-mini', { seed: 1, onProgress: (p) => console.log(p) })
 */
export async function buildMini(out: string, options: BuildMiniOptions = {}): Promise<BuildMiniResult> {
  const started = performance.now()
  const cpuAtStart = process.cpuUsage()
  const settings = validateMiniOptions(options)
  const { seed, size, perClassTrain, perClassVal, debias } = settings
  const photosDir = path.resolve(options.photos ?? DEFAULT_PHOTOS_DIR)
  const split = splitPhotos(await listPhotos(photosDir))
  await guardOptions(out, { seed, size, debias, split })
  const timings: Record<string, number> = {}

  const cache = new PhotoCache(photosDir)
  const names = [...split.train, ...split.val]
  const dims = new Map<string, DecodedPhotoSize>()
  await forEachConcurrent(names, 2, async (name) => {
    const photo = await cache.get(name)
    dims.set(name, { name, width: photo.width, height: photo.height })
    options.onProgress?.({ phase: 'photos', done: dims.size, total: names.length })
  })
  const photosFor = { train: split.train.map((n) => dims.get(n)!), val: split.val.map((n) => dims.get(n)!) }
  timings.photosSeconds = seconds(started)

  const { tf, backend, fallbackReason } = await startTf()
  const aeStarted = performance.now()
  const plan = defaultAutoencoderPlan(seed, size, options.autoencoderSteps)
  const wanted = settings.generators
  const families = new Set(wanted.map((name) => MINI_GENERATOR_FAMILY[name]))
  const reuse = { retrain: options.retrainGenerators ?? false, shippedDir: options.shippedGeneratorsDir }
  const photos = { dir: photosDir, cache, train: photosFor.train }
  const autoencoder =
    families.has('autoencoder') || families.has('latent-diffusion')
      ? await prepareAutoencoder(
          tf,
          out,
          plan,
          photos,
          (done, total) => options.onProgress?.({ phase: 'autoencoder', generator: 'AE-decoder', done, total }),
          options.signal,
          reuse,
        )
      : undefined
  timings.autoencoderSeconds = seconds(aeStarted)
  const inputs: GeneratorInputs = { tf, families: {} }
  if (autoencoder) {
    const weights = await autoencoder.model.toWeights()
    inputs.autoencoder = {
      model: autoencoder.model,
      params: weights.layers.reduce((sum, l) => sum + l.kernel.length + l.bias.length, 0),
      weightsSha256: createHash('sha256').update(JSON.stringify(weights)).digest('hex'),
    }
  }
  const networks: Partial<Record<TrainedFamily, NetworkRecord>> = {}
  for (const family of TRAINED_FAMILIES) {
    if (!families.has(family) || options.signal?.aborted) continue
    const familyStarted = performance.now()
    const prepared = await prepareFamily(family, {
      tf,
      out,
      seed,
      size,
      photos,
      autoencoder: autoencoder && { model: autoencoder.model, key: autoencoder.record.key },
      ...reuse,
      steps: options.familySteps ?? {},
      onStep: (name, done, total) => options.onProgress?.({ phase: 'training', generator: name, done, total }),
      signal: options.signal,
    })
    inputs.families[family] = prepared
    networks[family] = prepared.record
    timings[`${family}TrainingSeconds`] = seconds(familyStarted)
  }

  const counts = { train: perClassTrain, val: perClassVal }
  const total = wanted.length * 2 * (perClassTrain + perClassVal)
  let written = 0
  let skipped = 0
  const report = (generator: string) => options.onProgress?.({ phase: 'images', generator, done: written + skipped, total })

  const described: MiniManifest['generators'] = []
  for (const name of wanted) {
    if (options.signal?.aborted) break
    const genStarted = performance.now()
    const { generator, record } = await createMiniGenerator(name, inputs)
    described.push(record)
    try {
      for (const splitName of ['train', 'val'] as const) {
        const sources = photosFor[splitName]
        for (const label of ['nature', 'ai'] as const) {
          const folder = path.join(out, name, splitName, label)
          const ext = label === 'ai' && !debias ? 'png' : 'jpg'
          const todo = await missingItems(folder, label, ext, counts[splitName])
          skipped += counts[splitName] - todo.length
          report(name)
          const crop = (index: number) => cropPixels(cache, sampleRegion(sources, size, streamFor(seed, 'crop', name, splitName, label, index)), size)
          const save = async (index: number, pixels: Buffer) => {
            const format = ext === 'png' ? 'png' : 'jpeg'
            await writeAtomic(path.join(folder, miniItemName(label, index, ext)), await encodeImage(pixels, size, format, MINI_JPEG_QUALITY))
            written++
            report(name)
          }
          if (options.signal?.aborted) break
          if (label === 'nature') {
            await forEachConcurrent(todo, 4, async (index) => save(index, await crop(index)), options.signal)
          } else {
            for (let i = 0; i < todo.length && !options.signal?.aborted; i += BATCH) {
              const batch = todo.slice(i, i + BATCH)
              const randoms = batch.map((index) => streamFor(seed, 'noise', name, splitName, index))
              const images = await generator.generate(await Promise.all(batch.map(crop)), size, randoms)
              await Promise.all(batch.map((index, j) => save(index, images[j]!)))
            }
          }
        }
      }
    } finally {
      generator.dispose()
    }
    timings[`${name}Seconds`] = seconds(genStarted)
  }
  autoencoder?.model.dispose()
  timings.totalSeconds = seconds(started)
  const cpu = process.cpuUsage(cpuAtStart)
  timings.cpuSeconds = Number(((cpu.user + cpu.system) / 1e6).toFixed(2))
  if (options.signal?.aborted) return { manifest: undefined, written, skipped, interrupted: true }

  const manifest: MiniManifest = {
    dataset: 'GenImage-mini',
    version: 1,
    seed,
    size,
    perClass: counts,
    debias,
    formats: { ai: debias ? `jpeg q${MINI_JPEG_QUALITY}` : 'png', nature: `jpeg q${MINI_JPEG_QUALITY}` },
    generators: described,
    photos: { dir: photosDir, train: split.train, val: split.val },
    autoencoder: autoencoder?.record,
    networks,
    backend: { tfjs: backend, ...(fallbackReason ? { fallbackReason } : {}) },
    timings,
    builtAt: new Date().toISOString(),
  }
  await writeAtomic(path.join(out, MINI_MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`)
  return { manifest, written, skipped, interrupted: false }
}

/** File name of item `index` of a class, e.g. `ai_00042.png`. */
export function miniItemName(label: 'ai' | 'nature', index: number, ext: string): string {
  return `${label}_${String(index).padStart(5, '0')}.${ext}`
}

async function missingItems(folder: string, label: 'ai' | 'nature', ext: string, count: number): Promise<number[]> {
  await mkdir(folder, { recursive: true })
  const entries = await readdir(folder)
  await Promise.all(entries.filter((e) => e.includes('.tmp-')).map((e) => rm(path.join(folder, e), { force: true })))
  const present = new Set(entries)
  return Array.from({ length: count }, (_, i) => i).filter((i) => !present.has(miniItemName(label, i, ext)))
}

async function writeAtomic(file: string, data: Buffer | string): Promise<void> {
  const temporary = `${file}.tmp-${process.pid}`
  await writeFile(temporary, data)
  await rename(temporary, file)
}

async function guardOptions(out: string, identity: object): Promise<void> {
  const file = path.join(out, TOOL_FOLDER, 'mini', 'options.json')
  const text = `${JSON.stringify(identity)}\n`
  const previous = await readFile(file, 'utf8').catch(() => undefined)
  if (previous !== undefined && previous !== text) {
    throw new DatasetError('bad_option', `${out} holds a GenImage-mini build with a different seed, size, --debias or photo set; use an empty folder`)
  }
  await mkdir(path.dirname(file), { recursive: true })
  if (previous === undefined) await writeFile(file, text)
}

const seconds = (since: number): number => Number(((performance.now() - since) / 1000).toFixed(2))
