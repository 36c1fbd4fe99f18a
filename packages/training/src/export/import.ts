import { createHash } from 'node:crypto'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { InputConfig, ModelCard, type ModelTask, type MeasuredAccuracy } from '@genimage/shared'
import * as ort from 'onnxruntime-node'
import { writeFileAtomic } from './model-folder.ts'

/** Why an external ONNX model was refused; `code` is stable. */
export class OnnxImportError extends Error {
  override name = 'OnnxImportError'
  constructor(
    readonly code: 'invalid_model' | 'input_mismatch' | 'output_mismatch' | 'invalid_card',
    message: string,
  ) {
    super(message)
  }
}

export interface ImportOnnxOptions {
  /** Path of the .onnx file, or its bytes. */
  source: string | Uint8Array
  /** Model folder to write (`model.onnx` + `card.json`); typically `<MODEL_DIR>/<name>`. */
  outDir: string
  name: string
  version?: string
  description?: string
  architecture: string
  task: ModelTask
  labels: string[]
  /** How images become the model's input: e.g. NCHW 224² with ImageNet mean/std for a timm ResNet-50. */
  input: InputConfig
  /** Output holding logits [N, labels.length] (default `logits`). */
  outputName?: string
  trainingData?: string
  notes?: string
  metrics?: MeasuredAccuracy[]
}

/**
 * Registers an external ONNX detector (e.g. a timm ResNet-50 exported from PyTorch) as a model folder the
 * runner serves. The model is opened with onnxruntime and run once on a blank batch of 2 shaped by the input
 * config, so a wrong input name, layout or size, or an output that is not [N, labels.length], fails here with a
 * clear error rather than at the first request.
 */
export async function importOnnxDetector(options: ImportOnnxOptions): Promise<ModelCard> {
  const bytes = typeof options.source === 'string' ? new Uint8Array(await readFile(options.source)) : options.source
  const input = InputConfig.parse(options.input)
  const outputName = options.outputName ?? 'logits'
  let session: ort.InferenceSession
  try {
    session = await ort.InferenceSession.create(bytes)
  } catch (error) {
    throw new OnnxImportError('invalid_model', `onnxruntime cannot open the model: ${error instanceof Error ? error.message : String(error)}`)
  }
  try {
    if (!session.inputNames.includes(input.name)) {
      throw new OnnxImportError('input_mismatch', `the model has no input "${input.name}"; its inputs: ${session.inputNames.join(', ')}`)
    }
    if (!session.outputNames.includes(outputName)) {
      throw new OnnxImportError('output_mismatch', `the model has no output "${outputName}"; its outputs: ${session.outputNames.join(', ')}`)
    }
    const dims = input.layout === 'NCHW' ? [2, 3, input.height, input.width] : [2, input.height, input.width, 3]
    let outputDims: readonly number[]
    try {
      const out = await session.run({ [input.name]: new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims) }, [outputName])
      outputDims = out[outputName]!.dims
    } catch (error) {
      throw new OnnxImportError(
        'input_mismatch',
        `the model does not accept a ${input.layout} ${dims.join('×')} float32 input "${input.name}": ${error instanceof Error ? error.message : String(error)}`,
      )
    }
    if (outputDims.length !== 2 || outputDims[0] !== 2 || outputDims[1] !== options.labels.length) {
      throw new OnnxImportError(
        'output_mismatch',
        `output "${outputName}" has shape [${outputDims.join(', ')}] for a batch of 2; expected [2, ${options.labels.length}] (one logit per label)`,
      )
    }
  } finally {
    await session.release()
  }
  const parsed = ModelCard.safeParse({
    name: options.name,
    version: options.version ?? '1',
    description: options.description ?? '',
    architecture: options.architecture,
    task: options.task,
    labels: options.labels,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    input,
    output: { name: outputName },
    provenance: { kind: 'imported', createdAt: new Date().toISOString(), trainingData: options.trainingData, notes: options.notes },
    metrics: options.metrics ?? [],
    trainedOn: options.trainingData
      ? `${options.trainingData} (imported; not verified by this project)`
      : 'not stated: imported from outside this project, its training data is unknown',
  })
  if (!parsed.success)
    throw new OnnxImportError('invalid_card', `invalid model card: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
  await mkdir(options.outDir, { recursive: true })
  await writeFileAtomic(join(options.outDir, parsed.data.file), bytes)
  await writeFileAtomic(join(options.outDir, 'card.json'), JSON.stringify(parsed.data, null, 2))
  return parsed.data
}
