import { type Db, insertDetections, isDbReachable, listDetections } from '@genimage/shared/db'
import type { DetectionRecord, DetectionStore } from './detection-store.ts'

interface Waiting {
  records: DetectionRecord[]
  done: () => void
  failed: (error: unknown) => void
}

/** Most rows in one INSERT (15 columns each, well under SQLite's bound-variable limit). */
const MAX_ROWS_PER_INSERT = 200

/**
 * DetectionStore over the project's libSQL database (embedded file or a libSQL server).
 *
 * Group commit: while one INSERT is being written, requests that finish meanwhile queue, and the next INSERT
 * writes all of them as one statement, so under load a burst of answers costs one write instead of one each.
 * Every caller still waits for its own rows to be stored before its 200 is sent. When a shared INSERT fails,
 * each request's rows are retried alone, so one request's failure never fails another's.
 */
export function createLibsqlStore(db: Db): DetectionStore {
  const queue: Waiting[] = []
  let writing = false

  const insert = (records: DetectionRecord[]) => insertDetections(db, records)

  async function writeQueued(): Promise<void> {
    writing = true
    try {
      while (queue.length > 0) {
        const batch: Waiting[] = []
        let rows = 0
        while (queue.length > 0 && (batch.length === 0 || rows + (queue[0] as Waiting).records.length <= MAX_ROWS_PER_INSERT)) {
          const next = queue.shift() as Waiting
          batch.push(next)
          rows += next.records.length
        }
        try {
          await insert(batch.flatMap((w) => w.records))
          for (const w of batch) w.done()
        } catch (error) {
          if (batch.length === 1) (batch[0] as Waiting).failed(error)
          else for (const w of batch) await insert(w.records).then(w.done, w.failed)
        }
      }
    } finally {
      writing = false
    }
  }

  return {
    recordDetections(records) {
      if (records.length === 0) return Promise.resolve()
      return new Promise<void>((done, failed) => {
        queue.push({ records, done, failed })
        if (!writing) void writeQueued()
      })
    },
    listDetections: (filter) => listDetections(db, filter),
    ping: () => isDbReachable(db),
  }
}
