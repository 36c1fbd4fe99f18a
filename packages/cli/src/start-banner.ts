import { MAKE_MODEL_COMMANDS } from '@genimage/shared'

/** Whether the edge asks for a key now: `required`, `later` (REQUIRE_API_KEY=auto and no key yet) or `off`. */
export type KeysAtStart = 'required' | 'later' | 'off'

/** The header every API command sends a key in; the edge also reads `x-api-key`. */
export const KEY_HEADER = '-H "Authorization: Bearer $GENIMAGE_API_KEY"'

/**
 * Whether keys are required when the stack starts, as the edge decides it: `REQUIRE_API_KEY=true` always,
 * `false` never, `auto` (the default) once any key was ever created in the database.
 */
export function keysAtStart(requireApiKey: string | undefined, anyKeyEverCreated: boolean): KeysAtStart {
  if (requireApiKey === 'true') return 'required'
  if (requireApiKey === 'false') return 'off'
  return anyKeyEverCreated ? 'required' : 'later'
}

export interface StartBannerFacts {
  edgeUrl: string
  runnerUrl: string
  database: string
  models: readonly string[]
  keys: KeysAtStart
  /** The sample photo path for the curl example. */
  samplePhoto: string
}

/**
 * What `genimage start` prints once the stack is up: where the API and the web console are, what is served, and
 * curl commands that work as printed (with the key header when the edge requires a key).
 */
export function startBanner(facts: StartBannerFacts): string[] {
  const { edgeUrl } = facts
  const key = facts.keys === 'required' ? ` ${KEY_HEADER}` : ''
  const lines = [
    '',
    `GenImage detect API on ${edgeUrl}  (runner ${facts.runnerUrl}, database ${facts.database})`,
    `Web console: ${edgeUrl}/`,
    ...(facts.models.length === 0
      ? ['No detector is loaded: the model directory is empty.', `To serve one, ${MAKE_MODEL_COMMANDS} (see the README); then restart.`]
      : [`Serving: ${facts.models.join(', ')}`]),
    '',
    'Try:',
    `  curl -s${key} -F image=@${facts.samplePhoto} ${edgeUrl}/v1/detect`,
    `  curl -s${key} ${edgeUrl}/v1/models`,
  ]
  if (facts.keys === 'required') lines.push('  (this edge requires an API key: export GENIMAGE_API_KEY=<a key with the detect scope>)')
  if (facts.keys === 'later') lines.push(`  (once a key exists, \`npx genimage keys create …\`, every call needs it: add ${KEY_HEADER})`)
  lines.push('')
  return lines
}
