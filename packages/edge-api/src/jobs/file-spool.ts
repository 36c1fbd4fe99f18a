import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ApiError } from '../errors.ts'
import type { DetectSpool } from './spool.ts'

export interface FileSpoolOptions {
  /** The spool folder (SPOOL_DIR); created when missing. */
  dir: string
  /** The most image bytes it holds at once (SPOOL_MAX_BYTES). */
  maxBytes: number
  /** Seconds a client is told to wait when the spool is full (default 30). */
  retryAfterSeconds?: number
}

const JOB_ID = /^[0-9A-Za-z-]{1,100}$/

/**
 * A {@link DetectSpool} in a folder: `<dir>/jobs/<job id>/<position>` per image, and `<dir>/spool-id` naming it.
 * A job's images are written into `<dir>/incoming/<job id>` and renamed into place at once, so a crash mid-write
 * leaves only an `incoming` folder, which the next start deletes. Files are not fsynced: a killed process loses
 * nothing (the kernel holds the pages), a power loss may lose the last accepted jobs. One process per folder.
 */
export async function openFileSpool(options: FileSpoolOptions): Promise<DetectSpool> {
  const { dir, maxBytes } = options
  const jobsDir = join(dir, 'jobs')
  const incomingDir = join(dir, 'incoming')
  await rm(incomingDir, { recursive: true, force: true })
  await mkdir(jobsDir, { recursive: true })
  await mkdir(incomingDir, { recursive: true })
  const idFile = join(dir, 'spool-id')
  const id = await readFile(idFile, 'utf8').then(
    (text) => text.trim(),
    async () => {
      const fresh = `spool-${crypto.randomUUID()}`
      await writeFile(idFile, `${fresh}\n`)
      return fresh
    },
  )
  const sizes = new Map<string, number>()
  let used = 0
  for (const job of await readdir(jobsDir)) {
    for (const file of await readdir(join(jobsDir, job))) {
      const { size } = await stat(join(jobsDir, job, file))
      sizes.set(`${job}/${file}`, size)
      used += size
    }
  }
  const jobPath = (jobId: string) => {
    if (!JOB_ID.test(jobId)) throw new Error(`not a job id: ${jobId.slice(0, 120)}`)
    return join(jobsDir, jobId)
  }

  return {
    id,
    get usedBytes() {
      return used
    },
    maxBytes,
    async put(jobId, images) {
      const total = images.reduce((sum, image) => sum + image.bytes.byteLength, 0)
      if (used + total > maxBytes) {
        throw new ApiError('spool_full', `the async spool holds ${used} of ${maxBytes} bytes and this job needs ${total} more; retry later`, {
          retryAfterSeconds: options.retryAfterSeconds ?? 30,
        })
      }
      used += total
      const staging = join(incomingDir, jobId)
      try {
        await mkdir(staging)
        for (const image of images) await writeFile(join(staging, String(image.idx)), image.bytes)
        await rename(staging, jobPath(jobId))
      } catch (error) {
        used -= total
        await rm(staging, { recursive: true, force: true })
        throw error
      }
      for (const image of images) sizes.set(`${jobId}/${image.idx}`, image.bytes.byteLength)
    },
    async read(jobId, idx) {
      try {
        const bytes = await readFile(join(jobPath(jobId), String(idx)))
        return new Uint8Array(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength)
      } catch {
        return undefined
      }
    },
    async remove(jobId, idx) {
      await rm(join(jobPath(jobId), String(idx)), { force: true })
      const key = `${jobId}/${idx}`
      used -= sizes.get(key) ?? 0
      sizes.delete(key)
    },
    async removeJob(jobId) {
      await rm(jobPath(jobId), { recursive: true, force: true })
      for (const [key, size] of sizes) {
        if (key.startsWith(`${jobId}/`)) {
          used -= size
          sizes.delete(key)
        }
      }
    },
    async list() {
      const jobs = new Map<string, number[]>()
      for (const job of await readdir(jobsDir)) {
        const files = await readdir(join(jobsDir, job)).catch(() => [])
        jobs.set(
          job,
          files.map(Number).filter((n) => Number.isInteger(n)),
        )
      }
      return jobs
    },
  }
}
