/** One built file of the console: its content type and text. */
export interface ConsoleAsset {
  type: string
  body: string
}

/** What `scripts/build-console.mjs` writes to `dist/console-assets.ts`. */
export interface ConsoleBuild {
  /** The HTML page, with `__CONFIG__` where the deployment's {@link ConsoleConfig} goes. */
  page: string
  /** Fingerprinted script and stylesheet by path (`/console/console.<hash>.js`), immutable once built. */
  assets: Record<string, ConsoleAsset>
  /** Page, script and stylesheet gzipped (level 9), in bytes: the console's whole download. */
  gzipBytes: number
}

/** What the page is told about the deployment it is served by (no secrets: the page is public). */
export interface ConsoleConfig {
  /** Whether `POST /v1/detect` takes a `url` field here (EDGE_ALLOW_URL_INPUT). */
  allowUrlInput: boolean
  /** The edge's request body limit, in bytes (MAX_REQUEST_BYTES). */
  maxRequestBytes: number
}
