import { expect } from 'vitest'

/** Largest absolute difference divided by the largest magnitude in `expected`; asserts equal lengths first. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length)
  let diff = 0
  let scale = 1e-12
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs((actual[i] as number) - (expected[i] as number)))
    scale = Math.max(scale, Math.abs(expected[i] as number))
  }
  return diff / scale
}
