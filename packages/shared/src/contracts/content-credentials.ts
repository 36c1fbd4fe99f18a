import { z } from 'zod'

/**
 * C2PA content credentials of one image, as a runner read them from the image's embedded manifest store.
 * The runner reads them (the C2PA library is native code); the edge turns them into part of the verdict.
 */

/**
 * IPTC digital source types that say a model made the picture (the terms of
 * `http://cv.iptc.org/newscodes/digitalsourcetype/`): credentials whose actions carry one *declare* AI generation.
 */
export const AI_DIGITAL_SOURCE_TYPES = ['trainedAlgorithmicMedia', 'compositeWithTrainedAlgorithmicMedia', 'algorithmicMedia'] as const

/**
 * `valid`: the signature and the image's hashes check out and the signing certificate chains to a configured trust
 * anchor (C2PA_TRUST_ANCHORS on the runner). `untrusted`: they check out, but the signer is not on the trust list.
 * `invalid`: present but not verified: a hash mismatch (the image was changed after signing), a bad signature, or a
 * manifest that could not be read; `reasons` says which.
 */
export const CredentialsState = z
  .enum(['valid', 'invalid', 'untrusted'])
  .describe(
    'valid: signature and hashes check out and the signer chains to a configured trust anchor; untrusted: they check out but the signer is not trusted; ' +
      'invalid: changed after signing, a bad signature, or unreadable (see reasons)',
  )
export type CredentialsState = z.infer<typeof CredentialsState>

/** One entry of the active manifest's `c2pa.actions` assertion, e.g. `c2pa.created` with `trainedAlgorithmicMedia`. */
export const CredentialsAction = z.object({
  action: z.string(),
  /** The IPTC digital source type as the manifest states it (usually a full `http://cv.iptc.org/…` URI); null when absent. */
  digital_source_type: z.string().nullable().describe('IPTC digital source type, e.g. http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia'),
})
export type CredentialsAction = z.infer<typeof CredentialsAction>

/** The signing certificate's subject as C2PA reports it: organisation (`issuer`) and common name. */
export const CredentialsSigner = z.object({ issuer: z.string().nullable(), common_name: z.string().nullable() })
export type CredentialsSigner = z.infer<typeof CredentialsSigner>

/**
 * What an image's C2PA manifest store says, from its active manifest. `present: false` means the image embeds no
 * manifest (remote manifests are not fetched); `state`, `signer` and `claim_generator` are then null.
 */
export const ContentCredentials = z
  .object({
    present: z.boolean().describe('whether the image embeds a C2PA manifest (remote manifests are not fetched)'),
    state: CredentialsState.nullable(),
    signer: CredentialsSigner.nullable(),
    /** The software that made the claim, e.g. `Adobe Firefly` or `genimage-test/1`. */
    claim_generator: z.string().nullable(),
    actions: z.array(CredentialsAction),
    /** Whether an action's digital source type is one of AI_DIGITAL_SOURCE_TYPES (a claim; trust it only when `state` is `valid`). */
    declares_ai: z.boolean().describe(`whether an action's digital source type is one of ${AI_DIGITAL_SOURCE_TYPES.join(', ')}`),
    /** Why the state is not `valid`: C2PA validation codes with their explanations, or why the manifest could not be read. */
    reasons: z.array(z.string()),
  })
  .describe('C2PA content credentials read from the image; valid ones that declare AI generation make the verdict ai')
export type ContentCredentials = z.infer<typeof ContentCredentials>

/** The answer for an image that embeds no manifest. */
export function noContentCredentials(): ContentCredentials {
  return { present: false, state: null, signer: null, claim_generator: null, actions: [], declares_ai: false, reasons: [] }
}

/** Whether a digital source type (a bare IPTC term or its full URI) says a model made the picture. */
export function isAiDigitalSourceType(digitalSourceType: string | null | undefined): boolean {
  if (!digitalSourceType) return false
  const term = digitalSourceType.slice(digitalSourceType.lastIndexOf('/') + 1)
  return (AI_DIGITAL_SOURCE_TYPES as readonly string[]).includes(term)
}

/**
 * Whether the credentials settle the verdict as `ai`: they declare AI generation and are `valid` (signed by a trusted
 * signer, image unchanged). Untrusted or invalid credentials never change the verdict.
 */
export function credentialsProveAi(credentials: ContentCredentials | null | undefined): boolean {
  return credentials?.present === true && credentials.state === 'valid' && credentials.declares_ai
}
