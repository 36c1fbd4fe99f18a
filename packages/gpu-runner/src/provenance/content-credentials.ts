import { readFile } from 'node:fs/promises'
import { type ContentCredentials, noContentCredentials } from '@genimage/shared'
import { Limiter } from '../inference/limiter.ts'
import { summariseManifestStore } from './manifest-summary.ts'

/** How the runner reads C2PA manifests. */
export interface ContentCredentialsOptions {
  /** PEM certificates whose chains make a signer trusted (C2PA_TRUST_ANCHORS); none: every signer is `untrusted`. */
  trustAnchorsPem?: string
  /** Longest one image's read may take, waiting for a slot included (default 2000 ms); past it the image is `invalid`. */
  timeoutMs?: number
  /** Images larger than this are not read (default 64 MiB); one that carries a manifest is then `invalid`. */
  maxBytes?: number
  /** Reads running at once (default 2; the library hashes the whole image on its own threads). */
  concurrency?: number
}

/** Reads the C2PA content credentials of encoded images; never throws and never rejects. */
export interface ContentCredentialsReader {
  /** One answer per image, in order. */
  readAll(images: readonly Uint8Array[]): Promise<ContentCredentials[]>
  read(image: Uint8Array): Promise<ContentCredentials>
}

type C2paReader = { json(): unknown }
type C2paModule = { Reader: { fromAsset(asset: { buffer: Buffer; mimeType: string }, settings?: object): Promise<C2paReader | null> } }

/** The native C2PA library, loaded on the first image that carries a manifest (most images never load it). */
let library: Promise<C2paModule> | undefined
const loadLibrary = () => (library ??= import('@contentauth/c2pa-node') as Promise<C2paModule>)

/** Every embedded C2PA manifest store is a JUMBF box labelled `c2pa`: an image without these bytes carries none. */
const C2PA_LABEL = Buffer.from('c2pa', 'latin1')

/**
 * A reader of embedded C2PA manifests (`@contentauth/c2pa-node`), for untrusted uploads: reads are bounded in size,
 * time and concurrency, remote manifests and OCSP are never fetched, and any library error becomes an `invalid`
 * answer with the reason instead of an exception. Images without the C2PA label are answered without the library.
 * @example const credentials = await createContentCredentialsReader({ trustAnchorsPem }).readAll(images)
 */
export function createContentCredentialsReader(options: ContentCredentialsOptions = {}): ContentCredentialsReader {
  const timeoutMs = options.timeoutMs ?? 2_000
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024
  const slots = new Limiter(options.concurrency ?? 2)
  const verify = { verify_trust: true, remote_manifest_fetch: false, ocsp_fetch: false }
  const settings = options.trustAnchorsPem ? { trust: { trust_anchors: options.trustAnchorsPem }, verify } : { verify }

  const readManifest = async (bytes: Buffer): Promise<ContentCredentials> => {
    const { Reader } = await loadLibrary()
    const reader = await Reader.fromAsset({ buffer: bytes, mimeType: mimeTypeOf(bytes) }, settings)
    return reader ? summariseManifestStore(reader.json()) : noContentCredentials()
  }

  const read = async (image: Uint8Array): Promise<ContentCredentials> => {
    const bytes = Buffer.from(image.buffer, image.byteOffset, image.byteLength)
    if (bytes.indexOf(C2PA_LABEL) < 0) return noContentCredentials()
    if (bytes.byteLength > maxBytes) return unread(`not read: the image is over ${maxBytes} bytes`)
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<ContentCredentials>((done) => {
      timer = setTimeout(() => done(unread(`not read: reading took longer than ${timeoutMs} ms`)), timeoutMs)
    })
    try {
      const reading = slots.run(() => readManifest(bytes)).catch((error: unknown) => unread(`the manifest could not be read: ${errorText(error)}`))
      return await Promise.race([reading, deadline])
    } finally {
      clearTimeout(timer)
    }
  }

  return { read, readAll: (images) => Promise.all(images.map(read)) }
}

/** Reads C2PA_TRUST_ANCHORS (a PEM file); throws naming the variable when it cannot be read or holds no certificate. */
export async function readTrustAnchors(path: string): Promise<string> {
  const pem = await readFile(path, 'utf8').catch((error: unknown) => {
    throw new Error(`invalid runner environment: C2PA_TRUST_ANCHORS: cannot read ${path}: ${errorText(error)}`)
  })
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new Error(`invalid runner environment: C2PA_TRUST_ANCHORS: ${path} holds no PEM certificate`)
  }
  return pem
}

/** The answer for an image that carries the C2PA label but whose manifest was not verified. */
function unread(reason: string): ContentCredentials {
  return { ...noContentCredentials(), present: true, state: 'invalid', reasons: [reason] }
}

function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error)
  return text.length > 300 ? `${text.slice(0, 300)}…` : text
}

/** The MIME type the library is told, from the magic bytes (it checks the container itself as it parses). */
function mimeTypeOf(bytes: Buffer): string {
  const ascii = (offset: number, text: string) => bytes.toString('latin1', offset, offset + text.length) === text
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return 'image/jpeg'
  if (ascii(1, 'PNG')) return 'image/png'
  if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return 'image/webp'
  if (ascii(0, 'GIF8')) return 'image/gif'
  if (ascii(0, 'II*\0') || ascii(0, 'MM\0*')) return 'image/tiff'
  if (ascii(4, 'ftyp')) return ascii(8, 'avif') || ascii(8, 'avis') ? 'image/avif' : 'image/heic'
  return 'image/jpeg'
}
