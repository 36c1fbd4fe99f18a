import type { ContentCredentials, DetectionsPage, Verdict } from '@genimage/shared'
import type { DetectionsFilter } from '@genimage/shared/db'

/** One scored image as it is recorded: the image's hash and size, never its bytes. */
export interface DetectionRecord {
  id: string
  /** The edge's id for the request (unique per request). */
  requestId: string
  /** The client's `x-request-id`, when it sent a valid one. */
  correlationId: string | null
  imageSha256: string
  imageBytes: number
  modelName: string
  modelVersion: string
  aiGenerated: number
  verdict: Verdict
  /** The threshold the verdict was decided with. */
  threshold: number
  scores: Record<string, number>
  /** The image's C2PA content credentials summary (never the manifest or the image); null when the runner read none. */
  contentCredentials?: ContentCredentials | null
  apiKeyId: string | null
  runner: string
  latencyMs: number
  createdAt: Date
}

/** Where the edge keeps what it did. The app sees only this interface. */
export interface DetectionStore {
  /** Records all detections of one request atomically. */
  recordDetections(records: DetectionRecord[]): Promise<void>
  /** One page of recorded detections, newest first (`GET /v1/detections`). */
  listDetections(filter: DetectionsFilter): Promise<DetectionsPage>
  /** Cheap check that the database answers. */
  ping(): Promise<boolean>
}
