import { DETECT_BATCH_MAX_IMAGES, DetectForm, DetectQuery, DetectUrlBatch, type ErrorCode } from '@genimage/shared'
import type { NewDetectJobItem } from '@genimage/shared/db'
import type { Context } from 'hono'
import type { AppEnv } from '../app-env.ts'
import type { EdgeConfig } from '../config.ts'
import { ApiError } from '../errors.ts'
import { isJsonContentType } from '../experiments/experiment-request.ts'
import { safeFileName } from '../inputs/file-name.ts'
import { MultipartError, type MultipartPart, multipartBoundary, parseMultipart } from '../inputs/multipart.ts'
import { sha256Hex } from '../sha256.ts'
import { sniffImage } from '../sniff.ts'
import { checkModelCount, imageProblem } from '../routes/detect-form.ts'

/**
 * Whether a `POST /v1/detect` asks to be a job: `?async=true` or `Prefer: respond-async` (RFC 7240). Any other
 * `async` value is 400 `invalid_request`; `async=false` answers synchronously whatever the header says.
 */
export function asyncDetectRequested(c: Context<AppEnv>): boolean {
  const parsed = DetectQuery.safeParse({ async: c.req.query('async') })
  if (!parsed.success) throw new ApiError('invalid_request', 'invalid query: async: must be `true` or `false`')
  if (parsed.data.async !== undefined) return parsed.data.async === 'true'
  const prefer = c.req.header('prefer') ?? ''
  return prefer.split(/[,;]/).some((token) => token.trim().toLowerCase() === 'respond-async')
}

/** A job's images as accepted: the rows to store and the bytes to spool (files only; URLs are fetched when scored). */
export interface AcceptedImages {
  items: NewDetectJobItem[]
  spooled: { idx: number; bytes: Uint8Array }[]
  models: string[]
  callbackUrl: string | null
}

/**
 * Reads the body of an async detect: multipart (`image` file parts, `url` fields, `model` fields, `callback_url`) or
 * JSON ({@link DetectUrlBatch}). At most {@link DETECT_BATCH_MAX_IMAGES} images (413 `batch_too_large`). An image
 * that cannot be scored by its bytes (empty, not an image, over the pixel limit) becomes a failed item, so one bad
 * file does not refuse a batch; when every image is like that, the request is refused with the first one's error.
 */
export async function readAsyncDetectBody(body: Uint8Array<ArrayBuffer>, contentType: string, config: EdgeConfig): Promise<AcceptedImages> {
  const raw = isJsonContentType(contentType) ? fromJson(body) : fromMultipart(body, contentType)
  const count = raw.files.length + raw.urls.length
  if (count === 0) throw new ApiError('missing_image', 'no `image` part, `url` field or `urls` entry in the request')
  if (count > DETECT_BATCH_MAX_IMAGES) {
    throw new ApiError('batch_too_large', `a job holds at most ${DETECT_BATCH_MAX_IMAGES} images; this one has ${count}`, {
      details: { limit: DETECT_BATCH_MAX_IMAGES, images: count },
    })
  }
  checkModels(raw.models)
  if (raw.urls.length > 0 && !config.allowUrlInput) {
    throw new ApiError('url_not_allowed', 'url input is disabled on this deployment (EDGE_ALLOW_URL_INPUT=true enables it)')
  }
  const items: NewDetectJobItem[] = []
  const spooled: AcceptedImages['spooled'] = []
  for (const [idx, file] of raw.files.entries()) {
    const failure = imageProblem(file.bytes, config)
    if (failure) {
      items.push({ idx, ...(file.filename ? { filename: file.filename } : {}), failure })
      continue
    }
    const sniffed = sniffImage(file.bytes)
    items.push({
      idx,
      ...(file.filename ? { filename: file.filename } : {}),
      sha256: await sha256Hex(file.bytes),
      bytes: file.bytes.byteLength,
      ...(sniffed?.width !== undefined && sniffed.height !== undefined ? { width: sniffed.width, height: sniffed.height } : {}),
    })
    spooled.push({ idx, bytes: file.bytes })
  }
  for (const [i, url] of raw.urls.entries()) items.push({ idx: raw.files.length + i, url })
  const firstFailure = items.find((item) => item.failure)
  if (firstFailure?.failure && items.every((item) => item.failure)) {
    throw new ApiError(firstFailure.failure.code as ErrorCode, firstFailure.failure.message, { image: firstFailure.idx })
  }
  return { items, spooled, models: raw.models, callbackUrl: raw.callbackUrl ?? null }
}

interface RawBatch {
  files: { bytes: Uint8Array<ArrayBuffer>; filename?: string }[]
  urls: string[]
  models: string[]
  callbackUrl?: string
}

function fromJson(body: Uint8Array<ArrayBuffer>): RawBatch {
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder().decode(body))
  } catch {
    throw new ApiError('invalid_request', 'the body is not valid JSON')
  }
  const urls = (value as { urls?: unknown })?.urls
  if (Array.isArray(urls) && urls.length > DETECT_BATCH_MAX_IMAGES) {
    throw new ApiError('batch_too_large', `a job holds at most ${DETECT_BATCH_MAX_IMAGES} images; this one has ${urls.length}`, {
      details: { limit: DETECT_BATCH_MAX_IMAGES, images: urls.length },
    })
  }
  const parsed = DetectUrlBatch.safeParse(value)
  if (!parsed.success) throw invalid(parsed.error.issues[0])
  const { model } = parsed.data
  return {
    files: [],
    urls: parsed.data.urls,
    models: model === undefined ? [] : typeof model === 'string' ? [model] : model,
    ...(parsed.data.callback_url === undefined ? {} : { callbackUrl: parsed.data.callback_url }),
  }
}

function fromMultipart(body: Uint8Array<ArrayBuffer>, contentType: string): RawBatch {
  if (!contentType.toLowerCase().startsWith('multipart/form-data')) {
    throw new ApiError('unsupported_media_type', 'send multipart/form-data (`image` parts, `url` fields) or JSON `{ "urls": [...] }`')
  }
  const boundary = multipartBoundary(contentType)
  if (boundary === undefined) throw new ApiError('invalid_request', 'multipart body could not be parsed: the content type has no boundary parameter')
  let parts: MultipartPart[]
  try {
    parts = parseMultipart(body, boundary, { maxParts: DETECT_BATCH_MAX_IMAGES + 64 })
  } catch (error) {
    if (error instanceof MultipartError && error.message.startsWith('more than')) {
      throw new ApiError('batch_too_large', `a job holds at most ${DETECT_BATCH_MAX_IMAGES} images; this request has more parts than that`, {
        details: { limit: DETECT_BATCH_MAX_IMAGES },
      })
    }
    throw new ApiError('invalid_request', `multipart body could not be parsed${error instanceof MultipartError ? `: ${error.message}` : ''}`)
  }
  const text = (part: MultipartPart) => new TextDecoder().decode(part.data)
  const fields = (name: string) => parts.filter((p) => p.name === name && p.filename === undefined).map(text)
  const files = parts
    .filter((p) => p.name === 'image')
    .map((part, index) => {
      if (part.filename === undefined) throw new ApiError('invalid_request', '`image` must be a file part', { image: index })
      const filename = safeFileName(part.filename)
      return { bytes: part.data, ...(filename ? { filename } : {}) }
    })
  const urls = fields('url')
  for (const url of urls) {
    const parsed = DetectForm.shape.url.safeParse(url)
    if (!parsed.success) throw invalid(parsed.error.issues[0], 'url')
  }
  const [callbackUrl, second] = fields('callback_url')
  if (second !== undefined) throw new ApiError('invalid_request', '`callback_url` is given more than once')
  return { files, urls, models: fields('model'), ...(callbackUrl === undefined ? {} : { callbackUrl }) }
}

function checkModels(models: string[]): void {
  checkModelCount(models)
  const parsed = DetectForm.safeParse({ model: models.length > 1 ? models : models[0] })
  if (!parsed.success) throw invalid(parsed.error.issues[0], 'model')
}

function invalid(issue: { path: PropertyKey[]; message: string } | undefined, field?: string): ApiError {
  const path = issue?.path.map(String).join('.') || field || 'body'
  return new ApiError('invalid_request', `${path}: ${issue?.message ?? 'invalid'}`)
}
