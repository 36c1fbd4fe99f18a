/**
 * Where the images of async detect jobs wait until scored: bytes on disk, bounded in total. The Node entry uses
 * `openFileSpool`; runtimes without a filesystem have none, and async detect answers 501 `async_not_supported`.
 */
export interface DetectSpool {
  /** This spool's id, kept with its files: jobs record it, so only the edge holding their bytes scores them. */
  readonly id: string
  /** Bytes held: images on disk plus images being written. */
  readonly usedBytes: number
  readonly maxBytes: number
  /** Stores a job's images, all or none; 503 `spool_full` (with `Retry-After`) when they would pass `maxBytes`. */
  put(jobId: string, images: readonly { idx: number; bytes: Uint8Array }[]): Promise<void>
  /** One image's bytes, or undefined when the spool does not hold it. */
  read(jobId: string, idx: number): Promise<Uint8Array<ArrayBuffer> | undefined>
  /** Deletes one image (once scored or failed). */
  remove(jobId: string, idx: number): Promise<void>
  /** Deletes whatever is left of a job. */
  removeJob(jobId: string): Promise<void>
  /** The jobs with images in the spool, and the positions of those images. */
  list(): Promise<Map<string, number[]>>
}
