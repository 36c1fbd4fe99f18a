import { mkdir, mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { SeededRandom } from '../zoo/params.ts'

export interface SyntheticDatasetOptions {
  generators?: string[]
  trainPerClass?: number
  valPerClass?: number
  size?: number
  seed?: number
}

/** Smooth noise: bilinear up-sampling of a coarse random grid (a camera-like, band-limited image). */
async function smoothNoise(size: number, random: SeededRandom): Promise<Buffer> {
  const coarse = Math.max(4, Math.floor(size / 8))
  const data = Buffer.alloc(coarse * coarse * 3)
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(random.next() * 256)
  return sharp(data, { raw: { width: coarse, height: coarse, channels: 3 } })
    .resize(size, size, { kernel: 'linear' })
    .jpeg({ quality: 92 })
    .toBuffer()
}

/** "Generated": random pixels at half resolution, nearest-up-sampled by 2 — the trace NPR looks for. */
async function nearestUpsampled(size: number, random: SeededRandom): Promise<Buffer> {
  const half = size / 2
  const data = Buffer.alloc(half * half * 3)
  const base = random.next() * 128
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(base + random.next() * 128)
  return sharp(data, { raw: { width: half, height: half, channels: 3 } })
    .resize(size, size, { kernel: 'nearest' })
    .png()
    .toBuffer()
}

/**
 * A toy dataset for smoke-testing the training path (tests and benchmarks), not for measuring detectors.
 * Writes a small GenImage-layout dataset into a temp folder: `nature` = smooth-noise JPEGs,
 * `ai` = nearest-up-sampled PNGs. Returns the root.
 */
export async function makeSyntheticDataset(options: SyntheticDatasetOptions = {}): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'genimage-train-'))
  const size = options.size ?? 48
  const random = new SeededRandom(options.seed ?? 7)
  for (const generator of options.generators ?? ['SynthGen']) {
    for (const [split, count] of [
      ['train', options.trainPerClass ?? 24],
      ['val', options.valPerClass ?? 8],
    ] as const) {
      for (const kind of ['ai', 'nature'] as const) {
        const dir = join(root, generator, split, kind)
        await mkdir(dir, { recursive: true })
        for (let i = 0; i < count; i++) {
          const bytes = kind === 'ai' ? await nearestUpsampled(size, random) : await smoothNoise(size, random)
          await sharp(bytes).toFile(join(dir, `${String(i).padStart(4, '0')}.${kind === 'ai' ? 'png' : 'jpg'}`))
        }
      }
    }
  }
  return root
}
