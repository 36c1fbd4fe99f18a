import { degradeImage } from '@genimage/imaging'
import { type DegradationParameters, type Label, parseDegradation } from '@genimage/shared/genimage'

/** Prepares one val image of a test cell: the bytes the evaluator hands to the model's transform. */
export type TestImageDegrader = (encoded: Uint8Array, label: Label) => Promise<Uint8Array>

/**
 * How the evaluator degrades the val images of one test cell: `degradeImage` of `@genimage/imaging`, the function
 * `genimage dataset degrade` writes with, so `dataset degrade --table5` trees hold exactly the bytes scored here.
 * Real (`nature`) images pass through unchanged when `degradeReal` is false; `none` leaves every image as it is.
 */
export function testImageDegrader(degradationId: string, parameters: DegradationParameters): TestImageDegrader {
  const degradation = parseDegradation(degradationId)
  return async (encoded, label) =>
    label === 'nature' && !parameters.degradeReal ? encoded : degradeImage(encoded, degradation, { interpolation: parameters.interpolation })
}
