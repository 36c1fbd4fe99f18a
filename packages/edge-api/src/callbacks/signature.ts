/**
 * Callback signatures: `Genimage-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. The
 * timestamp is signed with the body, so a receiver that refuses old timestamps (5 minutes is usual) cannot be
 * replayed an old delivery; `v1` names the scheme so a later one can be sent beside it. Web crypto only.
 */

const encoder = new TextEncoder()

async function hmacHex(secret: string, message: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(message)))
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join('')
}

/**
 * The `Genimage-Signature` value for `body` sent at `timestampSeconds`.
 * @example await signCallback('gcs_…', '{"id":"job_1"}', 1764756000) // 't=1764756000,v1=5f0c…'
 */
export async function signCallback(secret: string, body: string, timestampSeconds: number): Promise<string> {
  const t = Math.floor(timestampSeconds)
  return `t=${t},v1=${await hmacHex(secret, `${t}.${body}`)}`
}

/**
 * Checks a `Genimage-Signature` as a receiver would: a `v1` that matches, and a timestamp within `toleranceSeconds`
 * of `nowSeconds`. Used by the tests and by `genimage` tooling; receivers can do the same with any HMAC library.
 */
export async function verifyCallbackSignature(
  secret: string,
  header: string,
  body: string,
  options: { nowSeconds?: number; toleranceSeconds?: number } = {},
): Promise<boolean> {
  const parts = new Map(header.split(',').map((part) => part.trim().split('=', 2) as [string, string]))
  const t = Number(parts.get('t'))
  const v1 = parts.get('v1')
  if (!Number.isInteger(t) || !v1) return false
  const now = options.nowSeconds ?? Date.now() / 1000
  if (Math.abs(now - t) > (options.toleranceSeconds ?? 300)) return false
  const expected = await hmacHex(secret, `${t}.${body}`)
  if (expected.length !== v1.length) return false
  let difference = 0
  for (let i = 0; i < expected.length; i++) difference |= expected.charCodeAt(i) ^ v1.charCodeAt(i)
  return difference === 0
}
