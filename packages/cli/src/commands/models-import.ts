import { resolve } from 'node:path'
import { IMAGENET_MEAN, IMAGENET_STD, InputConfig } from '@genimage/shared'
import { importOnnxDetector } from '@genimage/training/export'
import { type Command, Option } from 'commander'
import { commaList, fraction, numberTriple, positiveInteger } from '../options.ts'

interface ImportFlags {
  name: string
  out?: string
  architecture: string
  task: 'binary' | 'attribution'
  labels?: string[]
  size: number
  layout: 'NCHW' | 'NHWC'
  inputName: string
  outputName: string
  resize: InputConfig['resize']
  cropPct: number
  interpolation: InputConfig['interpolation']
  mean?: [number, number, number]
  std?: [number, number, number]
  trainingData?: string
}

/**
 * `genimage models import <file.onnx>`: registers an external ONNX detector (defaults: a timm ResNet-50 exported from
 * PyTorch with the GenImage recipe — NCHW 224², shorter side to 256 then centre crop, ImageNet mean/std).
 */
export function registerModelImportCommand(models: Command): void {
  models
    .command('import')
    .description('register an external ONNX detector as a model folder the runner serves (checked with onnxruntime first)')
    .argument('<file>', 'the .onnx file')
    .requiredOption('--name <name>', 'model card name (lower-case letters, digits, . _ -)')
    .option('--out <dir>', 'model folder to write (default: models/<name>)')
    .option('--architecture <text>', 'architecture recorded in the card', 'resnet50-timm')
    .addOption(new Option('--task <task>', 'head').choices(['binary', 'attribution']).default('binary'))
    .option('--labels <labels>', 'comma-separated labels in output order (default for binary: nature,ai)', commaList)
    .option('--size <pixels>', 'square input size', positiveInteger, 224)
    .addOption(new Option('--layout <layout>', 'input layout').choices(['NCHW', 'NHWC']).default('NCHW'))
    .option('--input-name <name>', 'image input of the graph', 'image')
    .option('--output-name <name>', 'logits output of the graph', 'logits')
    .addOption(new Option('--resize <mode>', 'resize mode').choices(['shorter-side-center-crop', 'center-crop', 'stretch']).default('shorter-side-center-crop'))
    .option('--crop-pct <fraction>', 'centre-crop fraction for shorter-side-center-crop', fraction, 0.875)
    .addOption(new Option('--interpolation <kind>', 'resize kernel').choices(['nearest', 'bilinear', 'bicubic', 'lanczos3']).default('bilinear'))
    .option('--mean <r,g,b>', 'per-channel mean on [0,1] pixels (default ImageNet)', numberTriple)
    .option('--std <r,g,b>', 'per-channel std (default ImageNet)', numberTriple)
    .option('--training-data <text>', 'what the model was trained on, for the card')
    .action(async (file: string, flags: ImportFlags) => {
      const size = flags.size
      const labels = flags.labels ?? (flags.task === 'binary' ? ['nature', 'ai'] : [])
      const input = InputConfig.parse({
        name: flags.inputName,
        layout: flags.layout,
        height: size,
        width: size,
        resize: flags.resize,
        cropPct: flags.cropPct,
        interpolation: flags.interpolation,
        mean: flags.mean ?? IMAGENET_MEAN,
        std: flags.std ?? IMAGENET_STD,
      })
      const out = resolve(flags.out ?? `models/${flags.name}`)
      const card = await importOnnxDetector({
        source: resolve(file),
        outDir: out,
        name: flags.name,
        architecture: flags.architecture,
        task: flags.task,
        labels,
        input,
        outputName: flags.outputName,
        trainingData: flags.trainingData,
      })
      console.log(
        `wrote ${out} (${card.name}@${card.version}, ${card.labels.length} labels, input ${input.layout} ${size}², sha256 ${card.sha256.slice(0, 12)}…)`,
      )
    })
}
