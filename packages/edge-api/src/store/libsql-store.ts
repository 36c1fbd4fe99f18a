import { type Db, detections } from '@genimage/shared/db'
import type { DetectionStore } from './detection-store.ts'

/** DetectionStore over the project's libSQL database (embedded file or a libSQL server). */
export function createLibsqlStore(db: Db): DetectionStore {
  return {
    async recordDetections(records) {
      if (records.length === 0) return
      await db.insert(detections).values(records)
    },
    async ping() {
      try {
        await db.$client.execute('select 1')
        return true
      } catch {
        return false
      }
    },
  }
}
