import type { Verdict } from '@genimage/shared'

/** One scored image as it is recorded: the image's hash and size, never its bytes. */
export interface DetectionRecord {
  id: string
  requestId: string
  imageSha256: string
  imageBytes: number
  modelName: string
  modelVersion: string
  aiGenerated: number
  verdict: Verdict
  scores: Record<string, number>
  apiKeyId: string | null
  runner: string
  latencyMs: number
  createdAt: Date
}

/** Where the edge keeps what it did. The app sees only this interface. */
export interface DetectionStore {
  /** Records all detections of one request atomically. */
  recordDetections(records: DetectionRecord[]): Promise<void>
  /** Cheap check that the database answers. */
  ping(): Promise<boolean>
}
