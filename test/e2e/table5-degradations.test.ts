import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { testImageDegrader } from '@genimage/gpu-runner/evaluation'
import { ExperimentSpec } from '@genimage/shared'
import { type Label, TABLE5_PAPER_COLUMNS } from '@genimage/shared/genimage'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { repoRoot } from '../support/processes.ts'

const cli = join(repoRoot, 'packages/cli/bin/genimage.js')
const run = promisify(execFile)

/** Smooth gradients with texture, so resampling, blur and JPEG all have something to change. */
function picture(width: number, height: number, seed: number): Buffer {
  const pixels = Buffer.alloc(width * height * 3)
  for (let i = 0; i < pixels.length; i++) {
    const x = (i / 3) % width
    const y = Math.floor(i / 3 / width)
    pixels[i] = Math.round(((x * 255) / width) * 0.6 + ((y * 255) / height) * 0.3 + Math.sin(x * 0.7 + seed + (i % 3)) * 12 + 20) & 0xff
  }
  return pixels
}

const raw = (width: number, height: number, seed: number) => sharp(picture(width, height, seed), { raw: { width, height, channels: 3 } })

/** Source images as GenImage ships them (PNG generated, JPEG q96 real), plus the awkward cases: grey, alpha, EXIF rotation. */
async function sources(): Promise<{ label: Label; name: string; bytes: Buffer }[]> {
  return [
    { label: 'ai', name: 'rgb.png', bytes: await raw(320, 240, 1).png().toBuffer() },
    { label: 'ai', name: 'grey.png', bytes: await raw(256, 256, 2).greyscale().png().toBuffer() },
    { label: 'ai', name: 'alpha.PNG', bytes: await raw(200, 150, 3).ensureAlpha(0.7).png().toBuffer() },
    { label: 'nature', name: 'photo.JPEG', bytes: await raw(375, 500, 4).jpeg({ quality: 96 }).toBuffer() },
    { label: 'nature', name: 'rotated.JPEG', bytes: await raw(300, 200, 5).jpeg({ quality: 96 }).withMetadata({ orientation: 6 }).toBuffer() },
  ]
}

let work: string

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'genimage-table5-'))
})
afterAll(async () => {
  await rm(work, { recursive: true, force: true })
})

describe('Table 5 degradations', () => {
  it('`dataset degrade --table5` writes exactly the bytes the table5 evaluator scores, for every variant, PNG and JPEG sources', async () => {
    const root = join(work, 'data')
    const images = await sources()
    for (const image of images) {
      await mkdir(join(root, 'SD_V1.4', 'val', image.label), { recursive: true })
      await writeFile(join(root, 'SD_V1.4', 'val', image.label, image.name), image.bytes)
    }
    const out = join(work, 'degraded')
    await run(process.execPath, [cli, 'dataset', 'degrade', root, out, '--table5', '--json', '--no-progress'], { cwd: repoRoot, maxBuffer: 1 << 24 })

    // The evaluator degrades with what the experiment records; a table5 spec left to its defaults.
    const spec = ExperimentSpec.parse({ protocol: 'table5', models: ['npr-tiny'], dataRoot: root, generators: ['SD_V1.4'] })
    for (const id of TABLE5_PAPER_COLUMNS) {
      const sidecar = JSON.parse(await readFile(join(out, id, 'degrade.json'), 'utf8'))
      expect(sidecar.parameters, id).toMatchObject({ interpolation: spec.interpolation, degradeReal: spec.degradeReal })
      const degrade = testImageDegrader(id, spec)
      for (const image of images) {
        const written = image.name.replace(/\.[^.]+$/, id.startsWith('jpeg') ? '.jpg' : '.png')
        const onDisk = await readFile(join(out, id, 'SD_V1.4', 'val', image.label, written))
        const scored = Buffer.from(await degrade(image.bytes, image.label))
        expect(onDisk.equals(scored), `${id} ${image.name}`).toBe(true)
      }
    }
  })
})
