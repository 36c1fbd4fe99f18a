import { DetectForm, type ErrorCode, MAX_MODELS_PER_REQUEST } from '@genimage/shared'
import type { ResolvedDeps } from '../app.ts'
import type { EdgeConfig } from '../config.ts'
import { ApiError } from '../errors.ts'
import { safeFileName } from '../inputs/file-name.ts'
import { MultipartError, type MultipartPart, multipartBoundary, parseMultipart } from '../inputs/multipart.ts'
import { fetchImageUrl } from '../inputs/url-fetch.ts'
import { sha256Hex } from '../sha256.ts'
import { type SniffedImage, sniffImage } from '../sniff.ts'

/** One image of a detect request, checked against the limits and hashed. */
export interface Upload {
  bytes: Uint8Array
  /** The part's file name made safe to echo and store (see safeFileName); absent when none was sent. */
  filename?: string
  sha256: string
  /** From the image header, when it states them. */
  width?: number
  height?: number
}

/**
 * The multipart boundary of a detect request, checked before any body byte is read: anything but
 * multipart/form-data is 415 `unsupported_media_type`, a missing boundary 400 `invalid_request`.
 */
export function detectBoundary(request: Request): string {
  const type = request.headers.get('content-type') ?? ''
  if (!type.toLowerCase().startsWith('multipart/form-data')) {
    throw new ApiError('unsupported_media_type', 'send multipart/form-data with one or more `image` file parts')
  }
  const boundary = multipartBoundary(type)
  if (boundary === undefined)
    throw new ApiError('invalid_request', 'multipart body could not be parsed: the content type has no boundary parameter of 1 to 70 characters')
  return boundary
}

/** More than {@link MAX_MODELS_PER_REQUEST} models, or one named twice: 400 `invalid_request` (sync and async alike). */
export function checkModelCount(models: readonly string[]): void {
  if (models.length > MAX_MODELS_PER_REQUEST) {
    throw new ApiError('invalid_request', `at most ${MAX_MODELS_PER_REQUEST} models per request; this one names ${models.length}`)
  }
  const twice = models.find((name, i) => models.indexOf(name) !== i)
  if (twice !== undefined) throw new ApiError('invalid_request', `model ${JSON.stringify(twice).slice(0, 210)} is named more than once`)
}

/** Why these bytes cannot be scored, by their first bytes and header alone (empty, not an image, over `maxImagePixels`); undefined when they may be. */
export function imageProblem(bytes: Uint8Array, config: EdgeConfig): { code: ErrorCode; message: string } | undefined {
  return problemOf(bytes, sniffImage(bytes), config)
}

function problemOf(bytes: Uint8Array, sniffed: SniffedImage | undefined, config: EdgeConfig): { code: ErrorCode; message: string } | undefined {
  if (bytes.byteLength === 0) return { code: 'missing_image', message: 'image part is empty' }
  if (!sniffed) return { code: 'unsupported_media_type', message: 'bytes are not JPEG, PNG, WebP, GIF, AVIF or TIFF' }
  const pixels = sniffed.width !== undefined && sniffed.height !== undefined ? sniffed.width * sniffed.height : 0
  if (pixels > config.maxImagePixels) {
    return { code: 'image_too_large', message: `image header claims ${sniffed.width}×${sniffed.height} pixels; the limit is ${config.maxImagePixels}` }
  }
  return undefined
}

/**
 * Reads the images and the named models of a detect body already in memory. Every image must be JPEG, PNG,
 * WebP, GIF, AVIF or TIFF by its bytes, within `maxImagePixels` by its header, and the request's images together
 * within `maxRequestPixels`. `models` holds each `model` field in the order sent (empty: the default model); more
 * than {@link MAX_MODELS_PER_REQUEST}, or one named twice, is 400 `invalid_request`.
 */
export async function readDetectForm(body: Uint8Array<ArrayBuffer>, boundary: string, deps: ResolvedDeps): Promise<{ uploads: Upload[]; models: string[] }> {
  const { config } = deps
  let parts: MultipartPart[]
  try {
    parts = parseMultipart(body, boundary)
  } catch (error) {
    throw new ApiError('invalid_request', `multipart body could not be parsed${error instanceof MultipartError ? `: ${error.message}` : ''}`)
  }
  const named = textFields(parts, 'model')
  checkModelCount(named)
  const fields = DetectForm.safeParse({ model: named.length > 1 ? named : named[0], url: textField(parts, 'url') })
  if (!fields.success) {
    const issue = fields.error.issues[0]
    throw new ApiError('invalid_request', `${issue?.path.join('.')}: ${issue?.message}`)
  }
  if (textField(parts, 'callback_url') !== undefined) {
    throw new ApiError('invalid_request', '`callback_url` is for async requests: add `?async=true` (or `Prefer: respond-async`)')
  }
  const files = parts.filter((part) => part.name === 'image')
  const count = files.length + (fields.data.url === undefined ? 0 : 1)
  if (count === 0) throw new ApiError('missing_image', 'no `image` part (or `url` field) in the form')
  if (count > config.maxImagesPerRequest) {
    throw new ApiError('invalid_request', `at most ${config.maxImagesPerRequest} images per request`)
  }
  const images: { bytes: Uint8Array<ArrayBuffer>; filename?: string }[] = files.map((part, index) => {
    if (part.filename === undefined) throw new ApiError('invalid_request', '`image` must be a file part', { image: index })
    const filename = safeFileName(part.filename)
    return { bytes: part.data, ...(filename ? { filename } : {}) }
  })
  if (fields.data.url !== undefined) images.push({ bytes: await fetchUrlInput(fields.data.url, deps) })
  const uploads: Upload[] = []
  let requestPixels = 0
  for (const [index, { bytes, filename }] of images.entries()) {
    const sniffed = sniffImage(bytes)
    const problem = problemOf(bytes, sniffed, config)
    if (problem) throw new ApiError(problem.code, problem.message, { image: index })
    const { width, height } = sniffed ?? {}
    const pixels = width !== undefined && height !== undefined ? width * height : undefined
    requestPixels += pixels ?? 0
    if (requestPixels > config.maxRequestPixels) {
      throw new ApiError(
        'image_too_large',
        `the images up to this one hold ${requestPixels} pixels together; the limit per request is ${config.maxRequestPixels} (send fewer or smaller images per request)`,
        { image: index },
      )
    }
    uploads.push({
      bytes,
      sha256: await sha256Hex(bytes),
      ...(width !== undefined && height !== undefined ? { width, height } : {}),
      ...(filename ? { filename } : {}),
    })
  }
  const { model } = fields.data
  return { uploads, models: model === undefined ? [] : typeof model === 'string' ? [model] : model }
}

/** Every non-file part with this name, as text, in body order. */
function textFields(parts: MultipartPart[], name: string): string[] {
  return parts.filter((p) => p.name === name && p.filename === undefined).map((p) => textDecoder.decode(p.data))
}

/** The first part with this name, as text; undefined when there is none or it is a file. */
function textField(parts: MultipartPart[], name: string): string | undefined {
  const part = parts.find((p) => p.name === name)
  return part && part.filename === undefined ? textDecoder.decode(part.data) : undefined
}

const textDecoder = new TextDecoder()

/** Fetches a `url` input under the SSRF rules and the request limits; `url_not_allowed` when URL input is off. */
export function fetchUrlInput(url: string, deps: ResolvedDeps): Promise<Uint8Array<ArrayBuffer>> {
  const { config } = deps
  if (!config.allowUrlInput) throw new ApiError('url_not_allowed', 'url input is disabled on this deployment (EDGE_ALLOW_URL_INPUT=true enables it)')
  if (!deps.resolveHost) throw new ApiError('url_not_allowed', 'url input needs a DNS resolver, and this edge runtime has none configured')
  return fetchImageUrl(url, {
    resolveHost: deps.resolveHost,
    fetchFn: deps.fetchUrl,
    maxBytes: config.maxRequestBytes,
    timeoutMs: config.urlFetchTimeoutMs,
    maxRedirects: config.urlMaxRedirects,
  })
}
