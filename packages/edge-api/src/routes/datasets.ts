import { type DatasetListResponse, type DatasetSummary, isInsideDataRoots } from '@genimage/shared'
import type { Handler } from 'hono'
import type { AppEnv } from '../app-env.ts'
import type { EdgeConfig } from '../config.ts'

/**
 * The datasets a deployment's runners can read, as a source `GET /v1/datasets` lists from. On Node it reads the
 * folders of DATASET_DIRS (`fileDatasetCatalog` in `entries/node-datasets.ts`); where the edge has no filesystem
 * (workerd, Deno Deploy) there is none and the route answers 404 `not_found`.
 */
export interface DatasetCatalog {
  /** The datasets found now, ready and building, sorted by name then path. */
  list(): Promise<DatasetSummary[]>
}

/**
 * `GET /v1/datasets`: the GenImage-layout datasets under DATASET_DIRS (each folder itself when it is one, else its
 * subfolders that are), with their generators and image counts. With DATA_ROOTS set, only those inside it: a dataset
 * the edge would refuse as a `dataRoot` is never offered.
 */
export function listDatasets(catalog: DatasetCatalog, config: EdgeConfig): Handler<AppEnv> {
  return async function listDatasets(c) {
    const roots = config.dataRoots
    const datasets = (await catalog.list()).filter((d) => !roots || isInsideDataRoots(d.dataRoot, roots))
    const answer: DatasetListResponse = { datasets }
    return c.json(answer)
  }
}
