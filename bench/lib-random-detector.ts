/**
 * A zoo detector with random initial weights written as a model folder the runner serves: the timing stand-in the
 * benchmarks measure (never a detector). The active tfjs backend must read weights synchronously (`cpu`, `wasm`).
 */
import { createHash } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ModelCard } from '@genimage/shared'
import { exportDetectorToOnnx } from '@genimage/training/export'
import { createDetector } from '@genimage/training/zoo'

export interface RandomDetectorFolder {
  card: ModelCard
  /** Size of `model.onnx` in bytes. */
  bytes: number
}

/** Builds zoo model `kind` (seed 1), exports it to ONNX and writes `model.onnx` + `card.json` into `folder`. */
export async function writeRandomDetectorFolder(kind: string, folder: string, as: { name: string; command: string }): Promise<RandomDetectorFolder> {
  const detector = await createDetector(kind, { seed: 1 })
  try {
    const bytes = exportDetectorToOnnx(detector)
    const card = ModelCard.parse({
      name: as.name,
      version: '0',
      description: `${kind} with random initial weights (seed 1), untrained: a timing stand-in for benchmarks only, never a detector.`,
      architecture: kind,
      task: 'binary',
      labels: detector.labels,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      input: detector.info.input,
      output: { name: 'logits' },
      provenance: { kind: 'handmade', createdAt: new Date().toISOString(), command: as.command, notes: 'random initialisation, benchmark only' },
      metrics: [],
    })
    await mkdir(folder, { recursive: true })
    await writeFile(join(folder, card.file), bytes)
    await writeFile(join(folder, 'card.json'), JSON.stringify(card, null, 2))
    return { card, bytes: bytes.byteLength }
  } finally {
    detector.dispose()
  }
}
