/** Set to `1` to have `genimage` print, as it exits, what its start cost: {@link StartupReport} as one JSON line on stderr. */
export const STARTUP_REPORT_ENV = 'GENIMAGE_DEBUG_STARTUP'

/** What one `genimage` process loaded and spent; the CLI's start-up test reads it. */
export interface StartupReport {
  /** CPU time of the whole process (user + system), milliseconds. */
  cpuMs: number
  /** Wall time since the process started, milliseconds. */
  wallMs: number
  /** The heavy native and numeric stacks, and whether this process loaded each. */
  loaded: { onnxruntime: boolean; sharp: boolean; libsql: boolean; tfjs: boolean; webgpu: boolean }
}

/** Native addons by the file onnxruntime-node, sharp, libSQL and Dawn load them from. */
const NATIVE_ADDONS = {
  onnxruntime: /onnxruntime_binding\.node$/,
  sharp: /sharp-[\w-]+\.node$/,
  libsql: /@libsql\/.+\.node$/,
  webgpu: /dawn\.node$/,
} as const

/** What this process has loaded and spent so far. */
export function startupReport(): StartupReport {
  const report = process.report.getReport() as unknown as { sharedObjects?: string[] }
  const objects = report.sharedObjects ?? []
  const has = (pattern: RegExp) => objects.some((file) => pattern.test(file))
  const usage = process.resourceUsage()
  return {
    cpuMs: Math.round((usage.userCPUTime + usage.systemCPUTime) / 1000),
    wallMs: Math.round(performance.now()),
    loaded: {
      onnxruntime: has(NATIVE_ADDONS.onnxruntime),
      sharp: has(NATIVE_ADDONS.sharp),
      libsql: has(NATIVE_ADDONS.libsql),
      webgpu: has(NATIVE_ADDONS.webgpu),
      // tfjs-core keeps its engine on the global object from the moment it is imported.
      tfjs: '_tfengine' in globalThis,
    },
  }
}

/** Prints {@link startupReport} on exit when {@link STARTUP_REPORT_ENV} is `1`. */
export function reportStartupIfAsked(): void {
  if (process.env[STARTUP_REPORT_ENV] !== '1') return
  process.once('exit', () => process.stderr.write(`${JSON.stringify({ startup: startupReport() })}\n`))
}
