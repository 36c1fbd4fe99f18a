import { csvField, DETECTIONS_CSV_COLUMNS, type DetectionSummary, detectionsCsv } from '@genimage/shared'
import { describe, expect, it } from 'vitest'
import { DEFAULT_FORM, experimentPercent, specBody, specIssues } from '../src/client/experiment-form.ts'
import { detectCurl, isGenImageMini } from '../src/client/uploads.ts'

const progress = (phase: 'queued' | 'training' | 'evaluating', step = 0, cellsDone = 0) => ({
  phase,
  step,
  totalSteps: 10,
  epoch: 0,
  epochs: 2,
  loss: null,
  imagesPerSecond: null,
  etaSeconds: null,
  resumedFromStep: 0,
  backend: null,
  cellsDone,
  cellsTotal: 4,
})

describe('the experiment form', () => {
  it('sends what was typed, leaving empty optional fields to the contract defaults', () => {
    const body = specBody({ ...DEFAULT_FORM, dataRoot: ' /data/mini ', generators: 'SD_V1.4, GenB', epochs: '2', seeds: '0, 1' })
    expect(body).toEqual({
      protocol: 'table4',
      models: ['npr-tiny'],
      dataRoot: '/data/mini',
      generators: ['SD_V1.4', 'GenB'],
      epochs: 2,
      batchSize: 16,
      seeds: [0, 1],
    })
    expect(specIssues(body)).toEqual([])
  })

  it("names each problem by the spec's field path, as POST /v1/experiments does in details.issues", () => {
    const issues = specIssues(specBody({ ...DEFAULT_FORM, dataRoot: 'data', generators: 'a, b', models: 'npr-tiny, npr-tiny', epochs: '0' }))
    expect(issues).toEqual(
      expect.arrayContaining([
        { field: 'dataRoot', message: 'an absolute path, as the runners see it' },
        { field: 'models.1', message: 'duplicate model "npr-tiny"' },
        expect.objectContaining({ field: 'epochs' }),
      ]),
    )
  })
})

describe('experiment progress', () => {
  it('rises with training steps and evaluation cells, and says 100% only once every run has ended', () => {
    const queued = { state: 'queued' as const, progress: progress('queued') }
    const halfTrained = { state: 'running' as const, progress: progress('training', 5) }
    const evaluating = { state: 'running' as const, progress: progress('evaluating', 10, 2) }
    const done = { state: 'succeeded' as const, progress: progress('evaluating', 10, 4) }
    expect(experimentPercent([queued, queued])).toBe(0)
    expect(experimentPercent([halfTrained, queued])).toBe(21)
    expect(experimentPercent([evaluating, done])).toBe(96)
    expect(experimentPercent([done, { ...done, state: 'failed' }])).toBe(100)
  })
})

describe('detections CSV', () => {
  const row: DetectionSummary = {
    id: 'det_1',
    request_id: 'req_1',
    correlation_id: null,
    time: '2026-12-03T09:00:00.000Z',
    model: { name: 'npr-tiny-mini', version: '1' },
    verdict: 'ai',
    ai_generated: 0.75,
    threshold: 0.5,
    latency_ms: 12,
    image_bytes: 2048,
    image_sha256: 'a'.repeat(64),
    key: { id: 'key_1', name: '=HYPERLINK("x"), "ops"' },
    runner: 'http://127.0.0.1:8788',
  }

  it('writes one quoted, formula-safe line per detection under a header', () => {
    const lines = detectionsCsv([row]).split('\r\n')
    expect(lines[0]).toBe(DETECTIONS_CSV_COLUMNS.join(','))
    expect(lines[1]).toBe(
      `2026-12-03T09:00:00.000Z,npr-tiny-mini,1,ai,0.75,0.5,12,"'=HYPERLINK(""x""), ""ops""",key_1,2048,${'a'.repeat(64)},req_1,,det_1,http://127.0.0.1:8788`,
    )
    expect(lines[2]).toBe('')
    expect(csvField(-1)).toBe('-1')
    expect(csvField('-1')).toBe("'-1")
  })
})

describe('detect helpers', () => {
  it('writes a curl that keeps the key in $GENIMAGE_API_KEY and quotes file names for the shell', () => {
    expect(detectCurl('http://127.0.0.1:8787', { file: "it's.png" }, 'npr-tiny-mini', true)).toBe(
      `curl -sS \\\n  http://127.0.0.1:8787/v1/detect \\\n  -H "Authorization: Bearer $GENIMAGE_API_KEY" \\\n  -F 'image=@it'\\''s.png' \\\n  -F 'model=npr-tiny-mini'`,
    )
    expect(detectCurl('http://h', { url: 'https://x/y.jpg' }, '', false)).toBe(`curl -sS \\\n  http://h/v1/detect \\\n  -F 'url=https://x/y.jpg'`)
  })

  it('recognises GenImage-mini training data, so the console can say so plainly', () => {
    expect(isGenImageMini('GenImage-mini (128-px crops of 4 toy generators), not real text-to-image generators')).toBe(true)
    expect(isGenImageMini('GenImage (SD V1.4 train split)')).toBe(false)
    expect(isGenImageMini(undefined)).toBe(false)
  })
})
