import { type ContentCredentials, type CredentialsAction, type CredentialsState, isAiDigitalSourceType } from '@genimage/shared'
import { z } from 'zod'

/** The parts of a C2PA manifest store (the library's `Reader.json()`) that the summary uses; the rest is ignored. */
const Status = z.object({ code: z.string(), explanation: z.string().nullish() }).loose()
const Action = z.object({ action: z.string(), digitalSourceType: z.string().nullish() }).loose()
const Assertion = z.object({ label: z.string(), data: z.unknown() }).loose()
const Manifest = z
  .object({
    claim_generator: z.string().nullish(),
    claim_generator_info: z.array(z.object({ name: z.string(), version: z.string().nullish() }).loose()).nullish(),
    signature_info: z.object({ issuer: z.string().nullish(), common_name: z.string().nullish() }).loose().nullish(),
    assertions: z.array(Assertion).nullish(),
  })
  .loose()
const ManifestStore = z
  .object({
    active_manifest: z.string().nullish(),
    manifests: z.record(z.string(), Manifest).nullish(),
    validation_state: z.string().nullish(),
    /** Claim v1 readers: one flat list of failures. */
    validation_status: z.array(Status).nullish(),
    /** Claim v2 readers: results per manifest. */
    validation_results: z
      .object({
        activeManifest: z
          .object({ failure: z.array(Status).nullish() })
          .loose()
          .nullish(),
      })
      .loose()
      .nullish(),
  })
  .loose()

/** `c2pa.actions`, `c2pa.actions.v2`, and their numbered repeats (`c2pa.actions__1`). */
const ACTIONS_LABEL = /^c2pa\.actions(\.v\d+)?(__\d+)?$/
const UNTRUSTED = 'signingCredential.untrusted'
const MAX_REASONS = 8
const MAX_ACTIONS = 32

/**
 * Summarises a manifest store read from an image: the active manifest's signer, claim generator and actions, and the
 * validation state, where `Trusted` is `valid`, `Valid` (a sound signature from a signer outside the trust list) is
 * `untrusted`, and anything else is `invalid`. A store that does not have the expected shape is `invalid`.
 */
export function summariseManifestStore(json: unknown): ContentCredentials {
  const parsed = ManifestStore.safeParse(json)
  const store = parsed.success ? parsed.data : undefined
  const manifest = store?.active_manifest ? store.manifests?.[store.active_manifest] : undefined
  if (!store || !manifest) {
    return invalidStore(parsed.success ? 'the manifest store names no active manifest' : 'the manifest store could not be interpreted')
  }
  const failures = store.validation_results?.activeManifest?.failure ?? store.validation_status ?? []
  const state = credentialsState(store.validation_state, failures)
  const actions = actionsOf(manifest.assertions ?? [])
  return {
    present: true,
    state,
    signer: manifest.signature_info ? { issuer: manifest.signature_info.issuer ?? null, common_name: manifest.signature_info.common_name ?? null } : null,
    claim_generator: claimGenerator(manifest),
    actions,
    declares_ai: actions.some((a) => isAiDigitalSourceType(a.digital_source_type)),
    reasons: failures.slice(0, MAX_REASONS).map((f) => (f.explanation ? `${f.code}: ${f.explanation}` : f.code)),
  }
}

function credentialsState(validationState: string | null | undefined, failures: readonly z.infer<typeof Status>[]): CredentialsState {
  if (validationState === 'Trusted') return 'valid'
  if (validationState === 'Valid') return 'untrusted'
  if (validationState === undefined || validationState === null) {
    // Without a state, only an untrusted signer may be wrong for the answer to be `untrusted`.
    return failures.every((f) => f.code === UNTRUSTED) && failures.length > 0 ? 'untrusted' : 'invalid'
  }
  return 'invalid'
}

function actionsOf(assertions: readonly z.infer<typeof Assertion>[]): CredentialsAction[] {
  const actions: CredentialsAction[] = []
  for (const assertion of assertions) {
    if (!ACTIONS_LABEL.test(assertion.label)) continue
    const listed = z.object({ actions: z.array(Action) }).safeParse(assertion.data)
    if (!listed.success) continue
    for (const a of listed.data.actions) actions.push({ action: a.action, digital_source_type: a.digitalSourceType ?? null })
  }
  return actions.slice(0, MAX_ACTIONS)
}

/** `claim_generator` (claim v1), else the names and versions of `claim_generator_info` (claim v2), e.g. `genimage-test/1`. */
function claimGenerator(manifest: z.infer<typeof Manifest>): string | null {
  if (manifest.claim_generator) return manifest.claim_generator
  const info = manifest.claim_generator_info ?? []
  return info.length > 0 ? info.map((i) => (i.version ? `${i.name}/${i.version}` : i.name)).join(' ') : null
}

function invalidStore(reason: string): ContentCredentials {
  return { present: true, state: 'invalid', signer: null, claim_generator: null, actions: [], declares_ai: false, reasons: [reason] }
}
