import type { InputConfig } from './contracts/model-card.ts'

/**
 * A square NCHW RGB input named `image`, bilinear, uncropped, in [-1, 1] (mean = std = 0.5) unless `overrides` say
 * otherwise: the common case of the project's model cards, so each card states only what differs.
 */
export function squareInputConfig(size: number, overrides: Partial<InputConfig> = {}): InputConfig {
  return {
    name: 'image',
    layout: 'NCHW',
    height: size,
    width: size,
    resize: 'stretch',
    cropPct: 1,
    interpolation: 'bilinear',
    channelOrder: 'RGB',
    mean: [0.5, 0.5, 0.5],
    std: [0.5, 0.5, 0.5],
    ...overrides,
  }
}
