import { type ContentCredentials, DetectResponse, noContentCredentials } from '@genimage/shared'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { edgeWith, form, JPEG_8x8, oipPeer, PNG_8x8 } from './fixtures.ts'

const AI = 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia'

function credentials(state: ContentCredentials['state'], declaresAi = true): ContentCredentials {
  return {
    present: true,
    state,
    signer: { issuer: 'Test Generator Inc', common_name: 'Test Generator Signer' },
    claim_generator: 'genimage-test/1',
    actions: [{ action: 'c2pa.created', digital_source_type: declaresAi ? AI : null }],
    declares_ai: declaresAi,
    reasons: state === 'valid' ? [] : ['why not'],
  }
}

/**
 * The byte-sum OIP peer of the edge tests, with this project's `content_credentials` extension added to its inference
 * answers (the real runner reads them with the C2PA library: packages/gpu-runner and test/e2e test that path).
 */
function peerWithCredentials(perImage: ContentCredentials[] | 'omit') {
  const peer = oipPeer()
  const app = new Hono()
  app.all('*', async (c) => {
    const res = await peer.app.fetch(c.req.raw)
    if (perImage === 'omit' || !c.req.path.endsWith('/infer')) return res
    return c.json({ ...(await res.json()), content_credentials: perImage })
  })
  return { ...peer, app }
}

const detect = async (peer: ReturnType<typeof oipPeer>, images: Uint8Array[], config = {}) => {
  const { app, rows } = await edgeWith({ r1: peer }, config)
  const res = await app.request('/v1/detect', { method: 'POST', body: form(images.map((value) => ({ name: 'image', value }))) })
  expect(res.status).toBe(200)
  return { body: DetectResponse.parse(await res.json()), rows: await rows() }
}

describe('content credentials in POST /v1/detect', () => {
  it('answers ai for valid credentials that declare AI generation, whatever the score, and still reports the score', async () => {
    // Threshold 1: the byte-sum score alone never reaches it, so only the credentials can make the verdict ai.
    const { body, rows } = await detect(peerWithCredentials([credentials('valid'), noContentCredentials()]), [JPEG_8x8, PNG_8x8], { threshold: 1 })
    expect(body.threshold).toBe(1)
    const [signed, plain] = body.images
    expect(signed).toMatchObject({ verdict: 'ai', verdict_reason: 'content_credentials', content_credentials: credentials('valid') })
    expect(signed?.ai_generated).toBeLessThan(1)
    expect(plain).toMatchObject({ verdict: 'real', verdict_reason: 'score', content_credentials: { present: false } })
    // The row keeps the credentials summary (migration 0005), never the image.
    expect(rows.find((r) => r.imageSha256 === signed?.sha256)).toMatchObject({ verdict: 'ai', contentCredentials: credentials('valid') })
    expect(rows.find((r) => r.imageSha256 === plain?.sha256)?.contentCredentials).toEqual(noContentCredentials())
  })

  it('leaves the verdict to the score for untrusted or invalid credentials, and for valid ones that declare no AI', async () => {
    const answers = [credentials('untrusted'), credentials('invalid'), credentials('valid', false)]
    const { body } = await detect(peerWithCredentials(answers), [JPEG_8x8, PNG_8x8, JPEG_8x8], { threshold: 1 })
    expect(body.images.map((i) => [i.verdict, i.verdict_reason, i.content_credentials?.state])).toEqual([
      ['real', 'score', 'untrusted'],
      ['real', 'score', 'invalid'],
      ['real', 'score', 'valid'],
    ])
  })

  it('answers content_credentials: null when the runner does not read them (a Triton or KServe server)', async () => {
    const { body, rows } = await detect(peerWithCredentials('omit'), [JPEG_8x8])
    expect(body.images[0]).toMatchObject({ content_credentials: null, verdict_reason: 'score' })
    expect(rows[0]?.contentCredentials).toBeNull()
  })

  it('is documented in the OpenAPI document: content_credentials and verdict_reason, and the component', async () => {
    const { app } = await edgeWith({ r1: oipPeer() })
    type Schema = { properties?: Record<string, Schema>; items?: Schema; description?: string; anyOf?: Schema[] }
    const document = (await (await app.request('/openapi.json')).json()) as { components: { schemas: Record<string, Schema> } }
    const image = document.components.schemas.DetectResponse?.properties?.images?.items?.properties ?? {}
    expect(image.verdict_reason?.description).toMatch(/C2PA credentials declaring AI generation/)
    expect(JSON.stringify(image.content_credentials)).toMatch(/declares_ai/)
    const component = document.components.schemas.ContentCredentials
    expect(Object.keys(component?.properties ?? {}).sort()).toEqual(['actions', 'claim_generator', 'declares_ai', 'present', 'reasons', 'signer', 'state'])
    expect(component?.properties?.declares_ai?.description).toMatch(/trainedAlgorithmicMedia, compositeWithTrainedAlgorithmicMedia, algorithmicMedia/)
  })
})
