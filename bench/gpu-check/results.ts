/**
 * What the GPU check's sections report and how the final table is drawn. Each section runs in its own process
 * (the Node sections and the PyTorch peer alike) and prints one `GPU-CHECK-RESULT {json}` line on stdout.
 */

export const RESULT_MARKER = 'GPU-CHECK-RESULT '

/** A workload measured on both sides; the table has one line per workload. */
export type WorkloadKey = 'infer-b1' | 'infer-b8' | 'infer-b32' | 'train-resnet18' | 'train-resnet50' | 'detect'

/** One measurement: images per second (inference, detect) or seconds per training step. */
export interface Measurement {
  workload: WorkloadKey
  side: 'webgpu' | 'torch'
  value: number
  unit: 'img/s' | 's/step'
  /** Extra facts printed under the table (first-step time, p50 latency, mean runner batch…). */
  detail?: string
}

/** What one section process reports. */
export interface SectionResult {
  section: string
  ok: boolean
  /** Why the section failed or was skipped. */
  error?: string
  /** One-line facts shown in the run log and repeated under the table (device, adapter, model size). */
  notes: string[]
  measurements: Measurement[]
}

/** Prints a section's result as the one marker line the orchestrator reads. */
export function emitResult(result: SectionResult): void {
  process.stdout.write(`${RESULT_MARKER}${JSON.stringify(result)}\n`)
}

/** The result of a marker line, or undefined for any other line. */
export function parseResultLine(line: string): SectionResult | undefined {
  if (!line.startsWith(RESULT_MARKER)) return undefined
  const parsed = JSON.parse(line.slice(RESULT_MARKER.length)) as Partial<SectionResult>
  return { section: parsed.section ?? '?', ok: parsed.ok === true, error: parsed.error, notes: parsed.notes ?? [], measurements: parsed.measurements ?? [] }
}

const LABELS: Record<WorkloadKey, string> = {
  'infer-b1': 'inference ResNet-50 224² batch 1',
  'infer-b8': 'inference ResNet-50 224² batch 8',
  'infer-b32': 'inference ResNet-50 224² batch 32',
  'train-resnet18': 'train step ResNet-18 128² batch 16',
  'train-resnet50': 'train step ResNet-50 224² batch 32',
  detect: '/v1/detect ResNet-50 (edge + runner)',
}

/** The goals: inference ≥ 0.5× PyTorch CUDA's images/s at batch 32, a training step ≤ 4× its time. */
const GOALS: Partial<Record<WorkloadKey, string>> = {
  'infer-b32': '≥ 0.5×',
  'train-resnet18': '≤ 4× time',
  'train-resnet50': '≤ 4× time',
}

const format = (m: Measurement | undefined): string => (m == null ? '—' : m.unit === 'img/s' ? `${m.value.toFixed(1)} img/s` : `${m.value.toFixed(3)} s/step`)

/**
 * The closing table: per workload the WebGPU figure, PyTorch's, and their ratio (images/s over images/s; for
 * training, step time over step time). The detect line compares with bare WebGPU inference at batch 32 instead.
 * Lists the `planned` workloads; `labels` overrides a workload's name (the quick dry run shrinks batches).
 */
export function renderTable(
  results: SectionResult[],
  torchSide: string,
  planned: readonly WorkloadKey[],
  labels: Partial<Record<WorkloadKey, string>> = {},
): string {
  const all = results.flatMap((r) => r.measurements)
  const find = (workload: WorkloadKey, side: Measurement['side']) => all.find((m) => m.workload === workload && m.side === side)
  const header = ['workload', 'WebGPU (Dawn/Vulkan)', torchSide, 'ratio', 'goal']
  const rows: string[][] = []
  for (const workload of (Object.keys(LABELS) as WorkloadKey[]).filter((w) => planned.includes(w))) {
    const gpu = find(workload, 'webgpu')
    const peer = workload === 'detect' ? find('infer-b32', 'webgpu') : find(workload, 'torch')
    let ratio = '—'
    if (gpu && peer && peer.value > 0) {
      const r = gpu.value / peer.value
      const shown = r >= 0.1 ? r.toFixed(2) : r.toPrecision(2)
      ratio = gpu.unit === 's/step' ? `${shown}× time` : `${shown}×`
    }
    const peerCell = workload === 'detect' ? (peer ? `bare webgpu b32 ${format(peer)}` : '—') : format(peer)
    rows.push([labels[workload] ?? LABELS[workload], format(gpu), peerCell, ratio, GOALS[workload] ?? ''])
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd()
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

/** Details under the table, one line per measurement that has one. */
export function renderDetails(results: SectionResult[]): string[] {
  return results.flatMap((r) => r.measurements.filter((m) => m.detail).map((m) => `  ${m.side.padEnd(6)} ${m.workload}: ${m.detail}`))
}
