import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ContentCredentials, encodeBinaryInferRequest, encodeBytesTensor, InferResponse } from '@genimage/shared'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runnerConfigFromEnv } from '../src/config.ts'
import { createContentCredentialsReader, readTrustAnchors } from '../src/provenance/content-credentials.ts'
import { summariseManifestStore } from '../src/provenance/manifest-summary.ts'
import { loadModelRepository } from '../src/repository/model-repository.ts'
import { createRunnerApp, type RunnerApp } from '../src/server/runner-app.ts'
import { writeBrightnessModel } from './brightness-model.ts'
import { IPTC, makeTestPki, signImage, type TestPki, tamperJpeg } from './content-credentials-fixtures.ts'

let dir: string
let pki: TestPki
let otherCa: TestPki
let plainJpeg: Buffer
let plainPng: Buffer
let signedJpeg: Buffer
let signedPng: Buffer
let capturedJpeg: Buffer
let runnerApp: RunnerApp

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genimage-c2pa-'))
  await mkdir(join(dir, 'pki'))
  await mkdir(join(dir, 'other'))
  pki = await makeTestPki(join(dir, 'pki'))
  otherCa = await makeTestPki(join(dir, 'other'), 'Other')
  const picture = sharp({ create: { width: 96, height: 64, channels: 3, background: '#3a6ea5' } })
  plainJpeg = await picture.clone().jpeg().toBuffer()
  plainPng = await picture.clone().png().toBuffer()
  signedJpeg = signImage(pki, plainJpeg, 'image/jpeg')
  signedPng = signImage(pki, plainPng, 'image/png')
  capturedJpeg = signImage(pki, plainJpeg, 'image/jpeg', 'digitalCapture')
  await writeBrightnessModel(join(dir, 'models/brightness'))
  const repository = await loadModelRepository(join(dir, 'models'), { providers: ['cpu'], maxPixels: 1_000_000 })
  const contentCredentials = createContentCredentialsReader({ trustAnchorsPem: pki.caPem })
  runnerApp = createRunnerApp({ name: 'test', version: '0', repository, maxBodyBytes: 4_000_000, contentCredentials, log: () => {} })
})

afterAll(async () => {
  await runnerApp?.close()
  await rm(dir, { recursive: true, force: true })
})

const trusting = () => createContentCredentialsReader({ trustAnchorsPem: pki.caPem })
const SIGNER = { issuer: 'Test Generator Inc', common_name: 'Test Generator Signer' }

describe('reading C2PA content credentials', () => {
  it('reads a manifest signed by a trusted CA that declares trainedAlgorithmicMedia as valid, declaring AI', async () => {
    const credentials = await trusting().read(signedJpeg)
    expect(credentials).toEqual({
      present: true,
      state: 'valid',
      signer: SIGNER,
      claim_generator: 'genimage-test/1',
      actions: [{ action: 'c2pa.created', digital_source_type: `${IPTC}trainedAlgorithmicMedia` }],
      declares_ai: true,
      reasons: [],
    })
  })

  it('reads a signed PNG too', async () => {
    expect(await trusting().read(signedPng)).toMatchObject({ present: true, state: 'valid', signer: SIGNER, declares_ai: true })
  })

  it('answers invalid, with the hash mismatch, for a signed image changed after signing', async () => {
    const credentials = await trusting().read(tamperJpeg(signedJpeg))
    expect(credentials).toMatchObject({ present: true, state: 'invalid', signer: SIGNER, declares_ai: true })
    expect(credentials.reasons.join('\n')).toMatch(/dataHash\.mismatch/)
  })

  it('answers untrusted, never valid, for a sound signature from a signer outside the trust list', async () => {
    for (const reader of [createContentCredentialsReader(), createContentCredentialsReader({ trustAnchorsPem: otherCa.caPem })]) {
      const credentials = await reader.read(signedJpeg)
      expect(credentials).toMatchObject({ present: true, state: 'untrusted', signer: SIGNER, declares_ai: true })
      expect(credentials.reasons.join('\n')).toMatch(/signingCredential\.untrusted/)
    }
  })

  it('does not count a captured photo as declaring AI, however valid', async () => {
    expect(await trusting().read(capturedJpeg)).toMatchObject({ state: 'valid', declares_ai: false })
  })

  it('answers present: false for images without a manifest', async () => {
    for (const image of [plainJpeg, plainPng]) {
      expect(await trusting().read(image)).toEqual({
        present: false,
        state: null,
        signer: null,
        claim_generator: null,
        actions: [],
        declares_ai: false,
        reasons: [],
      })
    }
  })

  it('does not read an image over the size bound, and says so', async () => {
    const credentials = await createContentCredentialsReader({ trustAnchorsPem: pki.caPem, maxBytes: 1000 }).read(signedJpeg)
    expect(credentials).toMatchObject({ present: true, state: 'invalid', reasons: ['not read: the image is over 1000 bytes'] })
  })

  it('gives up on a read past its time box and says so (reading a signed image takes several ms)', async () => {
    const credentials = await createContentCredentialsReader({ trustAnchorsPem: pki.caPem, timeoutMs: 1 }).read(signedJpeg)
    expect(credentials).toMatchObject({ present: true, state: 'invalid', reasons: ['not read: reading took longer than 1 ms'] })
  })

  it('answers hostile bytes (random, truncated JUMBF, damaged manifest) without throwing and never as valid', async () => {
    const label = signedJpeg.indexOf('c2pa')
    const random = randomBytes(4000)
    random.write('c2pa', 200, 'latin1')
    const hostile = [
      random,
      Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), random]),
      Buffer.concat([plainPng.subarray(0, 8), random]),
      ...[20, 200, 2000].map((n) => signedJpeg.subarray(0, label + n)),
      signedPng.subarray(0, signedPng.indexOf('c2pa') + 300),
      ...[1, 2, 3].map((seed) => {
        const damaged = Buffer.from(signedJpeg)
        for (let i = 0; i < 40; i++) {
          const at = label + ((i * 7919 * seed) % 3000)
          damaged[at] = (damaged[at] as number) ^ 0x5a
        }
        return damaged
      }),
    ]
    const answers = await trusting().readAll(hostile)
    expect(answers).toHaveLength(hostile.length)
    for (const answer of answers) {
      expect(ContentCredentials.parse(answer)).toEqual(answer)
      expect(answer.state).not.toBe('valid')
      if (answer.present) expect(answer.reasons.length).toBeGreaterThan(0)
    }
    expect(answers[3]).toMatchObject({ present: true, state: 'invalid' })
    expect(answers[3]?.reasons[0]).toMatch(/^the manifest could not be read: /)
  })

  it('summarises manifest stores of unexpected shapes as invalid', () => {
    for (const json of [null, 42, {}, { active_manifest: 'x', manifests: {} }, { active_manifest: 'x', manifests: { x: { assertions: 'no' } } }]) {
      expect(summariseManifestStore(json)).toMatchObject({ present: true, state: 'invalid', declares_ai: false })
    }
  })
})

describe('content credentials in the runner', () => {
  const infer = (images: Uint8Array[]) => {
    const tensor = encodeBytesTensor(images)
    const { body, headers } = encodeBinaryInferRequest(
      { inputs: [{ name: 'image_bytes', datatype: 'BYTES', shape: [images.length], parameters: { binary_data_size: tensor.byteLength } }] },
      [tensor],
    )
    return runnerApp.app.request('/v2/models/brightness/infer', { method: 'POST', body, headers })
  }

  it('answers each image its credentials beside its scores, in input order', async () => {
    const res = await infer([signedJpeg, tamperJpeg(signedJpeg), plainPng, signedPng])
    expect(res.status).toBe(200)
    const body = InferResponse.parse(await res.json())
    expect(body.outputs[0]?.shape).toEqual([4, 2])
    expect(body.content_credentials?.map((c) => [c.present, c.state, c.declares_ai])).toEqual([
      [true, 'valid', true],
      [true, 'invalid', true],
      [false, null, false],
      [true, 'valid', true],
    ])
  })

  it('keeps serving after hostile uploads: a broken image is refused with its code, the next request is answered', async () => {
    const label = signedJpeg.indexOf('c2pa')
    const broken = await infer([signedJpeg.subarray(0, label + 500)])
    expect(broken.status).toBe(422)
    expect(await broken.json()).toMatchObject({ code: 'corrupt_image', image: 0 })
    const next = await infer([signedJpeg])
    expect(InferResponse.parse(await next.json()).content_credentials?.[0]?.state).toBe('valid')
  })
})

describe('C2PA_TRUST_ANCHORS', () => {
  it('is read from the environment and loaded as PEM; a missing or non-PEM file is refused naming the variable', async () => {
    expect(runnerConfigFromEnv({ C2PA_TRUST_ANCHORS: pki.caPath }).contentCredentials).toEqual({ trustAnchorsPath: pki.caPath, readTimeoutMs: 2000 })
    expect(await readTrustAnchors(pki.caPath)).toBe(pki.caPem)
    await expect(readTrustAnchors(join(dir, 'absent.pem'))).rejects.toThrow(/C2PA_TRUST_ANCHORS: cannot read/)
    await writeFile(join(dir, 'not.pem'), 'hello')
    await expect(readTrustAnchors(join(dir, 'not.pem'))).rejects.toThrow(/C2PA_TRUST_ANCHORS: .* holds no PEM certificate/)
  })
})
