import type { ModelTask } from '@genimage/shared'
import { headLabels, resolveZooModel, type Architecture, type Variant } from '@genimage/shared/zoo'
import { Detector } from './detector.ts'
import { Linear, Sequential, type Layer } from './layers.ts'
import { buildF3Net, buildSpec } from './frequency.ts'
import { buildGramNet } from './gramnet.ts'
import { buildNpr } from './npr.ts'
import { buildSwin } from './swin.ts'
import { buildDeit } from './transformer.ts'
import { buildUnivFdProbe } from './univfd.ts'
import { ParamStore } from './params.ts'
import { resnet50Spec, resnetTrunk } from './resnet.ts'

export interface CreateDetectorOptions {
  /** binary (default): ['nature', 'ai']; attribution: 'nature' + one class per generator. */
  task?: ModelTask
  /** Generators of an attribution head, in label order. */
  generators?: string[]
  /** Seed of the weight initialisation. Default 0. */
  seed?: number
}

export interface BuildContext {
  store: ParamStore
  variant: Variant
  /** Square input size of this variant. */
  size: number
  classes: number
}

export type NetworkBuilder = (ctx: BuildContext) => Layer | Promise<Layer>

const builders = new Map<Architecture, NetworkBuilder>()

/** Registers the tfjs implementation of a zoo architecture; a second registration of the same name throws. */
export function registerArchitecture(architecture: Architecture, builder: NetworkBuilder): void {
  if (builders.has(architecture)) throw new Error(`architecture ${architecture} is already registered`)
  builders.set(architecture, builder)
}

/** Architectures with a tfjs implementation. */
export function implementedArchitectures(): Architecture[] {
  return [...builders.keys()]
}

/**
 * Builds a zoo detector by name (`npr`, `npr-tiny`, `resnet50`, …) with freshly initialised, seeded weights.
 * Throws UnknownModelError (code `model_not_found`) listing the known names.
 *
 * @example
 * const detector = await createDetector('npr-tiny', { seed: 1 })
 */
export async function createDetector(name: string, opts: CreateDetectorOptions = {}): Promise<Detector> {
  const ref = resolveZooModel(name)
  const builder = builders.get(ref.entry.architecture)
  if (!builder) throw new Error(`architecture ${ref.entry.architecture} has no tfjs implementation yet; implemented: ${implementedArchitectures().join(', ')}`)
  const task = opts.task ?? 'binary'
  const labels = headLabels(task, opts.generators ?? [])
  const store = new ParamStore(opts.seed ?? 0)
  if (ref.input.height !== ref.input.width) throw new Error(`zoo inputs are square; ${ref.name} is ${ref.input.height}×${ref.input.width}`)
  try {
    const network = await builder({ store, variant: ref.variant, size: ref.input.height, classes: labels.length })
    return new Detector({ name: ref.name, architecture: ref.entry.architecture, variant: ref.variant, task, labels, input: ref.input }, store, network)
  } catch (error) {
    store.dispose()
    throw error
  }
}

/** A ResNet trunk with a linear head; CNNSpot shares it (its difference is the training augmentation). */
export function resnetClassifier(ctx: BuildContext, inChannels = 3): Layer {
  const { trunk, features } = resnetTrunk(ctx.store, 'backbone', resnet50Spec(ctx.variant, inChannels))
  return new Sequential([trunk, new Linear(ctx.store, 'head', features, ctx.classes)])
}

registerArchitecture('npr', (ctx) => buildNpr(ctx.store, ctx.variant, ctx.size, ctx.classes))
registerArchitecture('resnet50', (ctx) => resnetClassifier(ctx))
registerArchitecture('cnnspot', (ctx) => resnetClassifier(ctx))
registerArchitecture('spec', (ctx) => buildSpec(ctx.store, ctx.variant, ctx.size, ctx.classes))
registerArchitecture('f3net', (ctx) => buildF3Net(ctx.store, ctx.variant, ctx.size, ctx.classes))
registerArchitecture('gramnet', (ctx) => buildGramNet(ctx.store, ctx.variant, ctx.classes))
registerArchitecture('deit-s', (ctx) => buildDeit(ctx.store, ctx.variant, ctx.size, ctx.classes))
registerArchitecture('swin-t', (ctx) => buildSwin(ctx.store, ctx.variant, ctx.size, ctx.classes))
registerArchitecture('univfd-probe', (ctx) => buildUnivFdProbe(ctx.store, ctx.classes))
