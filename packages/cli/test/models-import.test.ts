import { spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { ModelCard } from '@genimage/shared'
import { OnnxGraphBuilder } from '@genimage/shared/onnx'
import { afterAll, beforeAll, expect, it } from 'vitest'

const repoRoot = resolve(import.meta.dirname, '../../..')
const bin = join(repoRoot, 'packages/cli/bin/genimage.js')
let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genimage-import-cli-'))
  const b = new OnnxGraphBuilder({ opset: 17 })
  const x = b.input('input', 'float32', ['N', 3, 48, 48])
  const pooled = b.node('Flatten', [b.node('GlobalAveragePool', [x])], { axis: 1 })
  b.output(b.node('MatMul', [pooled, b.initializer('w', Float32Array.from([1, -1, 0, 0, 0, 2]), [3, 2])]), 'float32', ['N', 2], { as: 'logits' })
  await writeFile(join(dir, 'external.onnx'), b.toBytes())
})
afterAll(() => rm(dir, { recursive: true, force: true }))

const genimage = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: repoRoot, encoding: 'utf8' })

it('`genimage models import` registers an NCHW ONNX model with its input config, and refuses a wrong size', async () => {
  const out = join(dir, 'models', 'external-nchw')
  const ok = genimage('models', 'import', join(dir, 'external.onnx'), '--name', 'external-nchw', '--out', out, '--size', '48', '--input-name', 'input')
  expect(ok.status).toBe(0)
  expect(ok.stdout).toContain('wrote')
  const listed = genimage('models', 'list', '--dir', join(dir, 'models'), '--json')
  expect(JSON.parse(listed.stdout).models).toMatchObject([{ name: 'external-nchw', provenance: 'imported' }])

  const wrong = genimage('models', 'import', join(dir, 'external.onnx'), '--name', 'wrong', '--out', join(dir, 'models', 'wrong'), '--input-name', 'input')
  expect(wrong.status).not.toBe(0)
  expect(wrong.stderr).toMatch(/does not accept a NCHW 2×3×224×224/)
  const card = ModelCard.parse(JSON.parse(await readFile(join(out, 'card.json'), 'utf8')))
  expect(card.input).toMatchObject({ layout: 'NCHW', height: 48, name: 'input', resize: 'shorter-side-center-crop', cropPct: 0.875 })
})
