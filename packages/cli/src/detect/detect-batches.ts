import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { type DetectedImage, type DetectModel, DetectResponse, ErrorResponse } from '@genimage/shared'
import { type ApiTarget, keyAdvice } from '../api-target.ts'
import type { ImageFile } from './image-files.ts'

/** The edge's limit on `image` parts per `POST /v1/detect` (MAX_IMAGES_PER_REQUEST is not configurable past it). */
export const MAX_IMAGES_PER_REQUEST = 16

/** Error codes that belong to one image of a batch: the other images are sent again without it. */
const PER_IMAGE_CODES = new Set(['missing_image', 'unsupported_media_type', 'image_too_large', 'corrupt_image', 'payload_too_large'])
/** Codes worth waiting for: the edge or its runners are busy, not wrong. */
const RETRY_CODES = new Set(['rate_limited', 'queue_full', 'server_busy', 'no_runner_available', 'runner_timeout', 'request_timeout'])
const MAX_RETRIES = 5

/** One image's outcome: the edge's answer, or the stable code and message of why it has none. */
export type ImageResult =
  | { file: ImageFile; ok: true; image: DetectedImage; model: DetectModel; threshold: number; requestId: string }
  | { file: ImageFile; ok: false; code: string; message: string }

/** A failure that ends the whole run: the edge is unreachable, or refuses the key. */
export class DetectRunError extends Error {
  override name = 'DetectRunError'
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

export interface DetectBatchOptions {
  target: ApiTarget
  model?: string
  batchSize: number
  fetchFn?: typeof fetch
  /** Called after each image is settled, in completion order. */
  onResult: (result: ImageResult) => void
  signal?: AbortSignal
}

/**
 * Scores `files` through `POST /v1/detect`, `batchSize` (≤ 16) images per request, one request at a time. An image the
 * edge refuses (`unsupported_media_type`, `image_too_large`, `missing_image` …) gets that code and its batch is sent
 * again without it; busy answers (429, 503) are retried after `Retry-After`; a refused key or an unreachable edge
 * throws {@link DetectRunError}.
 */
export async function detectInBatches(files: readonly ImageFile[], options: DetectBatchOptions): Promise<void> {
  const target = options.target
  const size = Math.min(Math.max(1, options.batchSize), MAX_IMAGES_PER_REQUEST)
  for (let start = 0; start < files.length && !options.signal?.aborted; start += size) {
    let batch = await readBatch(files.slice(start, start + size), options.onResult)
    let retries = 0
    while (batch.length > 0 && !options.signal?.aborted) {
      const answer = await postBatch(batch, options)
      if (answer.ok) {
        for (const [index, image] of answer.body.images.entries()) {
          const entry = batch[index]
          if (entry)
            options.onResult({ file: entry.file, ok: true, image, model: answer.body.model, threshold: answer.body.threshold, requestId: answer.body.id })
        }
        break
      }
      const { status, code, message, image, retryAfterSeconds } = answer
      if (status === 401 && target.keyFrom === 'config' && target.apiKey) {
        // A saved key, perhaps for another stack: this edge does not know it; without it, an open edge still answers.
        target.apiKey = undefined
        continue
      }
      if (PER_IMAGE_CODES.has(code) && image === undefined && batch.length > 1) {
        // The edge did not say which image: send each on its own, so that only the bad one fails.
        await detectInBatches(
          batch.map((entry) => entry.file),
          { ...options, batchSize: 1 },
        )
        break
      }
      if (PER_IMAGE_CODES.has(code)) {
        const bad = batch[image ?? 0]
        if (bad) options.onResult({ file: bad.file, ok: false, code, message })
        batch = batch.filter((_, index) => index !== (image ?? 0))
        continue
      }
      if ((RETRY_CODES.has(code) || status >= 500) && retries < MAX_RETRIES) {
        retries += 1
        await new Promise((done) => setTimeout(done, Math.min(30, retryAfterSeconds ?? 2 ** retries) * 1000))
        continue
      }
      const advice = keyAdvice(code, 'detect')
      if (advice) throw new DetectRunError(code, `${message}; ${advice}`)
      for (const entry of batch) options.onResult({ file: entry.file, ok: false, code, message })
      break
    }
  }
}

interface BatchEntry {
  file: ImageFile
  bytes: Uint8Array<ArrayBuffer>
}

async function readBatch(files: readonly ImageFile[], onResult: (result: ImageResult) => void): Promise<BatchEntry[]> {
  const entries: BatchEntry[] = []
  for (const file of files) {
    try {
      entries.push({ file, bytes: new Uint8Array(await readFile(file.absolute)) })
    } catch (error) {
      onResult({ file, ok: false, code: 'file_unreadable', message: (error as Error).message })
    }
  }
  return entries
}

type BatchAnswer = { ok: true; body: DetectResponse } | { ok: false; status: number; code: string; message: string; image?: number; retryAfterSeconds?: number }

async function postBatch(batch: readonly BatchEntry[], options: DetectBatchOptions): Promise<BatchAnswer> {
  const form = new FormData()
  if (options.model) form.append('model', options.model)
  for (const entry of batch) form.append('image', new Blob([entry.bytes]), basename(entry.file.path))
  const { target } = options
  let response: Response
  try {
    response = await (options.fetchFn ?? fetch)(`${target.baseUrl}/v1/detect`, {
      method: 'POST',
      body: form,
      headers: target.apiKey ? { authorization: `Bearer ${target.apiKey}` } : {},
      signal: options.signal,
    })
  } catch (error) {
    if (options.signal?.aborted) return { ok: false, status: 499, code: 'client_closed', message: 'interrupted' }
    throw new DetectRunError(
      'unreachable',
      `cannot reach the edge API at ${target.baseUrl} (${(error as Error).message}); start it with \`npx genimage start\`, or pass --api or set GENIMAGE_API`,
    )
  }
  const body: unknown = await response.json().catch(() => undefined)
  if (response.ok) return { ok: true, body: DetectResponse.parse(body) }
  const parsed = ErrorResponse.safeParse(body)
  const retryAfter = Number(response.headers.get('retry-after'))
  return {
    ok: false,
    status: response.status,
    code: parsed.success ? parsed.data.error.code : 'http_error',
    message: parsed.success ? parsed.data.error.message : `POST /v1/detect answered ${response.status}`,
    ...(parsed.success && parsed.data.error.image !== undefined ? { image: parsed.data.error.image } : {}),
    ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterSeconds: retryAfter } : {}),
  }
}
