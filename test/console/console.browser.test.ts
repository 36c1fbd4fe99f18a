import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createApp, createLibsqlStore, RunnerPool } from '@genimage/edge-api'
import { DATASET_BUILD_MARKER, DetectionsPage, DetectResponse, ExperimentDetail } from '@genimage/shared'
import { createApiKey, createDb } from '@genimage/shared/db'
import { serve } from '@hono/node-server'
import { makeSyntheticDataset } from '@genimage/training/train'
import { type Browser, chromium, type Page } from 'playwright-core'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { repoRoot, type Started, startGenimage } from '../support/processes.ts'

/** Debian's chromium (`.ci/run` installs it); CHROMIUM_PATH overrides. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const cli = join(repoRoot, 'packages/cli/bin/genimage.js')
const run = promisify(execFile)
/** Screenshots of each page at desktop and phone width land here (gitignored). */
const output = join(repoRoot, 'test/console/output')

let work: string
let data: string
let databaseUrl: string
let runner: Started
let edge: Started
let worker: ChildProcess
let browser: Browser
let page: Page
let photo: Buffer
let generated: Buffer
/** A dataset folder that is still being built (its build marker and nothing else), listed beside `data`. */
let sets: string

/** `genimage experiment worker` on the same database; resolves once it polls for jobs. */
function startWorker(): Promise<ChildProcess> {
  const args = ['experiment', 'worker', '--db', databaseUrl, '--artifacts', join(work, 'artifacts'), '--name', 'console-worker']
  const child = spawn(process.execPath, [cli, ...args, '--heartbeat-ms', '300', '--poll-ms', '200', '--backend', 'wasm'], {
    cwd: repoRoot,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let logs = ''
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      logs += chunk.toString()
      if (logs.includes('train worker polling')) resolve(child)
    })
    child.once('exit', (code) => reject(new Error(`experiment worker exited with ${code}:\n${logs}`)))
  })
}

const shoot = async (name: string) => {
  for (const width of [1280, 375]) {
    await page.setViewportSize({ width, height: width === 375 ? 812 : 900 })
    // At phone width nothing may stick out sideways: wide tables and charts scroll inside their own boxes.
    expect(await page.evaluate(() => document.documentElement.scrollWidth), `${name} at ${width} px`).toBeLessThanOrEqual(width)
    await page.screenshot({ path: join(output, `${name}-${width}.png`), fullPage: true })
  }
  await page.setViewportSize({ width: 1280, height: 900 })
}

/** What the API itself answers for these bytes, to compare with what the console shows. */
async function apiVerdict(bytes: Buffer, filename: string): Promise<string> {
  const form = new FormData()
  form.append('image', new Blob([bytes as Uint8Array<ArrayBuffer>]), filename)
  const answer = DetectResponse.parse(await (await fetch(`${edge.url}/v1/detect`, { method: 'POST', body: form })).json())
  return answer.images[0]!.verdict === 'ai' ? 'AI-generated' : 'Real'
}

const upload = (name: string) => page.locator('li.upload', { hasText: name })
/** Waits until the console shows the file's answer (`scored`) or refusal (`refused`). */
const settled = (name: string, state: 'scored' | 'refused') => page.locator(`li.upload[data-state="${state}"]`, { hasText: name }).waitFor()

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`the console's browser tests need Chromium at ${CHROMIUM}: apt-get install -y chromium (as .ci/run does), or set CHROMIUM_PATH`)
  }
  work = await mkdtemp(join(tmpdir(), 'genimage-console-'))
  await rm(output, { recursive: true, force: true })
  await mkdir(output, { recursive: true })
  databaseUrl = `file:${join(work, 'genimage.db')}`
  const handmade = run(process.execPath, [cli, 'models', 'handmade', '--out', join(work, 'models/npr-residual-handmade')], { cwd: repoRoot })
  data = await makeSyntheticDataset({ generators: ['SD_V1.4', 'GenB'], size: 64, trainPerClass: 16, valPerClass: 8 })
  await handmade
  // The detector the project ships, trained on GenImage-mini: the default model, so answers name that training data.
  await cp(join(repoRoot, 'models/npr-tiny-mini-attribution'), join(work, 'models/npr-tiny-mini-attribution'), { recursive: true })
  const photos = join(repoRoot, 'packages/dataset-tools/photos')
  photo = await readFile(join(photos, (await readdir(photos)).filter((f) => f.endsWith('.jpg')).sort()[0]!))
  const fake = join(data, 'GenB/val/ai')
  generated = await sharp(join(fake, (await readdir(fake)).sort()[0]!))
    .resize(256, 256, { kernel: 'nearest' })
    .png()
    .toBuffer()
  ;[runner, browser] = await Promise.all([
    startGenimage('runner', { RUNNER_PORT: '0', MODEL_DIR: join(work, 'models'), EXECUTION_PROVIDERS: 'cpu' }),
    chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    }),
  ])
  sets = join(work, 'sets')
  await mkdir(join(sets, 'genimage-mini-tiny'), { recursive: true })
  await writeFile(
    join(sets, 'genimage-mini-tiny', DATASET_BUILD_MARKER),
    JSON.stringify({ phase: 'writing images', done: 96, total: 288, updatedAt: new Date().toISOString() }),
  )
  edge = await startGenimage('edge', {
    PORT: '0',
    RUNNER_URLS: runner.url,
    DATABASE_URL: databaseUrl,
    MAX_REQUEST_BYTES: String(4 * 1024 * 1024),
    DATASET_DIRS: `${data},${sets}`,
  })
  worker = await startWorker()
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  await watchLayoutShifts(page)
})

/** Records layout shifts not caused by input, as Chromium reports them (the CLS metric), with what moved, from page load on. */
async function watchLayoutShifts(page: Page): Promise<void> {
  await page.addInitScript(() => {
    // Layout shifts not caused by input, as Chromium reports them (the CLS metric), with what moved.
    const shifts: Array<{ value: number; moved: string[] }> = []
    ;(window as unknown as { __shifts: typeof shifts }).__shifts = shifts
    new PerformanceObserver((list) => {
      type Source = { node?: Node; previousRect: DOMRectReadOnly; currentRect: DOMRectReadOnly }
      for (const entry of list.getEntries() as Array<PerformanceEntry & { value: number; hadRecentInput: boolean; sources?: Source[] }>) {
        if (entry.hadRecentInput) continue
        const rect = (r: DOMRectReadOnly) => `${Math.round(r.x)},${Math.round(r.y)} ${Math.round(r.width)}×${Math.round(r.height)}`
        const moved = (entry.sources ?? []).map(
          (s) =>
            `${s.node instanceof Element ? `${s.node.tagName.toLowerCase()}.${s.node.className}` : String(s.node?.nodeName)} ${rect(s.previousRect)} → ${rect(s.currentRect)}`,
        )
        shifts.push({ value: entry.value, moved })
      }
    }).observe({ type: 'layout-shift', buffered: true })
  })
}

/** The layout shift measured on the page so far (sum of the entries), and the entries, for the failure message. */
async function layoutShift(on: Page): Promise<{ total: number; entries: string }> {
  const shifts = await on.evaluate(() => (window as unknown as { __shifts: Array<{ value: number; moved: string[] }> }).__shifts)
  return { total: shifts.reduce((sum, s) => sum + s.value, 0), entries: JSON.stringify(shifts) }
}

afterAll(async () => {
  await browser?.close()
  if (worker && worker.exitCode === null) worker.kill('SIGTERM')
  await edge?.stop()
  await runner?.stop()
  if (work) await rm(work, { recursive: true, force: true })
  if (data) await rm(data, { recursive: true, force: true })
})

describe('the web console in Chromium, against edge + runner + worker processes on one libSQL file', () => {
  it('scores a real photo and a generated PNG with the verdicts the API gives, without layout shift; refuses a PDF and a truncated JPEG', async () => {
    await page.goto(`${edge.url}/`)
    await expect(page.getByRole('heading', { name: 'Detect AI-generated images' }).isVisible()).resolves.toBe(true)
    // Keyboard: Tab goes through the pages' links and the model picker to the file picker.
    const focused: string[] = []
    while (focused.length < 12 && focused.at(-1) !== 'image-files') {
      await page.keyboard.press('Tab')
      focused.push(await page.evaluate(() => document.activeElement?.id || document.activeElement?.textContent?.trim() || ''))
    }
    expect(focused).toEqual(expect.arrayContaining(['Models', 'Experiments', 'model-picker', 'image-files']))
    // Both served models are offered; the deployment default (npr-tiny-mini-attribution, its card says so) answers.
    await expect.poll(() => page.getByLabel('Model').locator('option').count()).toBe(3)
    expect(await page.getByLabel('Model').locator('option').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringMatching(/^npr-residual-handmade/), expect.stringMatching(/^npr-tiny-mini/)]),
    )
    await page.getByLabel('Choose images').setInputFiles([
      { name: 'photo.jpg', mimeType: 'image/jpeg', buffer: photo },
      { name: 'generated.png', mimeType: 'image/png', buffer: generated },
    ])
    for (const [name, bytes] of [
      ['photo.jpg', photo],
      ['generated.png', generated],
    ] as const) {
      await settled(name, 'scored')
      expect(await upload(name).locator('.verdict strong').textContent()).toBe(await apiVerdict(bytes, name))
      expect(await upload(name).locator('.thumb img').getAttribute('src')).toMatch(/^data:image\/png;base64,/)
      await upload(name).getByText('JSON answer and curl').click()
      expect(await upload(name).locator('pre').first().textContent()).toContain(`-F 'image=@${name}'`)
      const answer = JSON.parse((await upload(name).locator('pre').nth(1).textContent()) ?? '')
      expect(answer.model.name).toBe('npr-tiny-mini-attribution')
      // An attribution model: a bar per mini generator in the answer's order (most likely first), the top 3 in view.
      const ranked = answer.images[0].generators.map((g: { name: string }) => g.name)
      expect(ranked).toHaveLength(8)
      const rows = upload(name).locator('table.attribution tbody th')
      expect(await rows.allTextContents()).toEqual(ranked)
      expect(await upload(name).locator('table.attribution tbody th:visible').allTextContents()).toEqual(ranked.slice(0, 3))
      expect(await upload(name).locator('.warning').first().textContent()).toMatch(/Trained on GenImage-mini .*not on GenImage/)
    }
    const shift = await layoutShift(page)
    expect(shift.total, shift.entries).toBeLessThan(0.01)

    await page.getByLabel('Choose images').setInputFiles([
      { name: 'report.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n') },
      { name: 'cut.jpg', mimeType: 'image/jpeg', buffer: photo.subarray(0, Math.floor(photo.length / 3)) },
    ])
    await settled('report.pdf', 'refused')
    await settled('cut.jpg', 'refused')
    expect(await upload('report.pdf').getByRole('alert').textContent()).toMatch(/415 · unsupported_media_type — not an image this service reads/)
    expect(await upload('cut.jpg').getByRole('alert').textContent()).toMatch(/422 · corrupt_image — the file is damaged or cut short/)
    expect(await upload('report.pdf').locator('.thumb').textContent()).toBe('no preview')
    await page.evaluate(() => {
      for (const open of document.querySelectorAll('details[open]')) open.removeAttribute('open')
    })
    await shoot('detect')
  })

  it('pages through the recorded detections (never an image), filters them by verdict and exports them as CSV', async () => {
    const truth = DetectionsPage.parse(await (await fetch(`${edge.url}/v1/detections?limit=500`)).json()).detections
    expect(truth.length).toBe(4) // two scored in the console, two by apiVerdict; refused files leave no row
    await page.goto(`${edge.url}/#/detections`)
    await page.getByLabel('Rows per page').selectOption('2')
    await page.getByRole('button', { name: 'Apply filters' }).click()
    const rows = page.locator('table.detections tbody tr')
    await page.getByText('Page 1').waitFor()
    await expect.poll(() => rows.count()).toBe(2)
    const firstPage = await rows.allTextContents()
    await page.getByRole('button', { name: 'Older' }).click()
    await page.getByText('Page 2').waitFor()
    await expect.poll(async () => (await rows.allTextContents()).join() !== firstPage.join()).toBe(true)
    expect(await rows.count()).toBe(2)
    expect(await page.getByRole('button', { name: 'Older' }).isDisabled()).toBe(true)
    await page.getByRole('button', { name: 'Newer' }).click()
    await expect.poll(async () => (await rows.allTextContents()).join()).toBe(firstPage.join())
    expect(firstPage.join()).not.toMatch(/photo\.jpg|generated\.png/)

    await page.getByLabel('Verdict').selectOption('ai')
    await page.getByLabel('Rows per page').selectOption('100')
    await page.getByRole('button', { name: 'Apply filters' }).click()
    await expect.poll(() => rows.count()).toBe(truth.filter((d) => d.verdict === 'ai').length)
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()])
    const csv = (await readFile((await download.path())!, 'utf8')).trim().split('\r\n')
    expect(csv[0]).toBe(
      'time,model,model_version,verdict,ai_generated,threshold,latency_ms,key_name,key_id,image_bytes,image_sha256,request_id,correlation_id,detection_id,runner',
    )
    const aiRows = truth.filter((d) => d.verdict === 'ai')
    expect(csv.length - 1).toBe(aiRows.length)
    for (const d of aiRows) expect(csv.some((line) => line.startsWith(`${d.time},${d.model.name},${d.model.version},ai,${d.ai_generated},`))).toBe(true)
    expect(download.suggestedFilename()).toMatch(/^detections-.*\.csv$/)
    // At phone width every detection is a card of labelled lines: neither the page nor the table scrolls sideways.
    await page.getByLabel('Verdict').selectOption('')
    await page.getByRole('button', { name: 'Apply filters' }).click()
    await expect.poll(() => rows.count()).toBe(truth.length)
    await page.setViewportSize({ width: 375, height: 812 })
    const fit = await page.evaluate(() => {
      const table = document.querySelector('table.detections')!
      const box = table.parentElement!
      const cells = [...table.querySelectorAll('tbody tr:first-child td')].map((td) => td.getBoundingClientRect())
      return {
        page: document.documentElement.scrollWidth,
        table: table.getBoundingClientRect().right,
        inner: box.scrollWidth - box.clientWidth,
        stacked: cells.every((cell, i) => i === 0 || cell.top >= cells[i - 1]!.bottom - 1),
        label: getComputedStyle(table.querySelector('tbody td')!, '::before').content,
      }
    })
    expect(fit).toEqual({ page: 375, table: expect.any(Number), inner: 0, stacked: true, label: '"time"' })
    expect(fit.table).toBeLessThanOrEqual(375)
    await page.setViewportSize({ width: 1280, height: 900 })
    await shoot('detections')
  })

  it("shows each served model's card: architecture, training data (GenImage-mini said plainly), metrics per generator, how to reproduce it, runners", async () => {
    await page.goto(`${edge.url}/#/models`)
    const mini = page.locator('article.model-card', { hasText: 'npr-tiny-mini' })
    await mini.waitFor()
    const text = (await mini.textContent()) ?? ''
    expect(text).toMatch(/Architecture\s*npr-tiny/)
    expect(text).toMatch(/Trained on\s*GenImage-mini: 128×128 crops/)
    expect(await mini.locator('.warning').textContent()).toMatch(/Trained on GenImage-mini .*not on GenImage/)
    expect(await mini.locator('table thead').textContent()).toMatch(/RDN-slim.*Bicubic|Bicubic.*RDN-slim/)
    expect(await mini.locator('pre').textContent()).toMatch(/^npx genimage train --model npr-tiny /)
    expect(text).toMatch(/Served by\s*http:\/\/127\.0\.0\.1:\d+ · cpu/)
    const handmade = page.locator('article.model-card', { hasText: 'npr-residual-handmade' })
    expect(await handmade.textContent()).toMatch(/Trained on\s*nothing: a fixed statistic/)
    expect(await handmade.locator('.warning').count()).toBe(0)
    await shoot('models')
  })

  it('starts a tiny table4 on a listed dataset from the form (checked by the API contract first), follows it to 100% and shows its heatmap', async () => {
    await page.goto(`${edge.url}/#/experiments`)
    await page.getByLabel('Protocol').selectOption('table4')
    // The datasets the stack lists: the ready one is chosen, with its generators ticked; one still building cannot be.
    const dataset = page.getByLabel('Dataset', { exact: true })
    await expect.poll(() => dataset.inputValue()).toBe(data)
    const building = dataset.locator('option', { hasText: 'genimage-mini-tiny' })
    expect(await building.textContent()).toBe('genimage-mini-tiny — building (writing images 96/288), not ready yet')
    expect(await building.isDisabled()).toBe(true)
    expect(await page.getByRole('status').filter({ hasText: 'genimage-mini-tiny is still being built' }).count()).toBe(1)
    expect(await page.getByRole('group', { name: 'Generators' }).getByRole('checkbox').count()).toBe(2)
    for (const generator of ['SD_V1.4', 'GenB']) expect(await page.getByRole('checkbox', { name: generator }).isChecked()).toBe(true)
    expect(await page.getByLabel('Dataset root').count()).toBe(0)
    // Its build ends: the form offers it and, as the tiny GenImage-mini and the user having chosen nothing, picks it.
    const tiny = join(sets, 'genimage-mini-tiny')
    for (const split of ['train', 'val']) {
      for (const label of ['ai', 'nature']) {
        await mkdir(join(tiny, 'GAN-tconv', split, label), { recursive: true })
        await writeFile(join(tiny, 'GAN-tconv', split, label, '0.png'), generated)
      }
    }
    await writeFile(join(tiny, 'mini.json'), '{}')
    await rm(join(tiny, DATASET_BUILD_MARKER))
    await expect.poll(() => dataset.inputValue(), { timeout: 10_000 }).toBe(tiny)
    expect(await dataset.locator('option:checked').textContent()).toBe('genimage-mini-tiny — GenImage-mini, 1 generator, 4 images')
    expect(await page.getByRole('checkbox', { name: 'GAN-tconv' }).isChecked()).toBe(true)
    expect(await page.locator('.dataset-field .warning').textContent()).toMatch(/GenImage-mini: .*not GenImage/)
    // A typed path instead: the same zod contract as the API refuses a relative one before anything is sent.
    await dataset.selectOption({ label: 'Another folder (type its path)' })
    await page.getByLabel('Dataset root').fill('relative/path')
    await page.getByRole('button', { name: 'Start' }).click()
    // The same zod contract as the API refuses it before anything is sent, with the API's field names.
    expect(await page.getByRole('alert').textContent()).toMatch(/dataRoot: an absolute path, as the runners see it/)
    expect(await page.getByLabel('Dataset root').getAttribute('aria-invalid')).toBe('true')
    await dataset.selectOption(data)
    expect(await page.getByLabel('Dataset root').count()).toBe(0)
    await page.getByLabel('Epochs').fill('2')
    await page.getByLabel('Batch size').fill('8')
    await page.getByLabel('Name (optional)').fill('console table 4')
    await page.getByRole('button', { name: 'Start' }).click()
    await page.waitForURL(/#\/experiments\/exp_/)
    const submitted = ExperimentDetail.parse(await (await fetch(`${edge.url}/v1/experiments/${/exp_[\w-]+/.exec(page.url())?.[0]}`)).json())
    expect(submitted.spec).toMatchObject({ dataRoot: data, generators: ['GenB', 'SD_V1.4'] })
    const seen: number[] = []
    const percent = page.getByTestId('percent')
    const started = Date.now()
    for (;;) {
      const value = Number.parseInt((await percent.textContent()) ?? '0', 10)
      if (seen.at(-1) !== value) seen.push(value)
      if (value === 100) break
      if (Date.now() - started > 180_000) throw new Error(`progress stuck at ${seen.join(' → ')}%`)
      await page.waitForTimeout(250)
    }
    expect(seen).toEqual([...seen].sort((a, b) => a - b))
    await page.locator('.report svg rect.cell').first().waitFor()
    expect(await page.locator('.report svg rect.cell').count()).toBe(4)
    expect(await page.locator('.report').textContent()).toMatch(/Table 4 — one model per training generator/)
    expect(await page.locator('.state').first().textContent()).toBe('succeeded')
    console.log(`console table4 (2 generators × npr-tiny, 2 epochs) progress seen: ${seen.join(' → ')}% in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    await shoot('experiment')
    // The same experiment as `genimage report --format html` writes it: one file that opens on its own in a browser.
    const id = /#\/experiments\/(exp_[\w-]+)/.exec(page.url())?.[1]
    expect(id).toBeDefined()
    const reportDir = join(work, 'report')
    await run(process.execPath, [cli, 'report', id!, '--format', 'html', '--out', reportDir, '--api', edge.url], { cwd: repoRoot })
    const reportPage = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    await reportPage.goto(`file://${join(reportDir, 'report.html')}`)
    expect(await reportPage.getByRole('heading', { name: 'How to read this report' }).count()).toBe(1)
    expect(await reportPage.locator('svg rect.cell').count()).toBe(4)
    const heatmap = await reportPage.locator('svg').first().boundingBox()
    expect(heatmap?.width ?? 0).toBeGreaterThan(100)
    await reportPage.screenshot({ path: join(output, 'report-html-1280.png'), fullPage: true })
    await reportPage.close()
    await page.goto(`${edge.url}/#/experiments`)
    await page.getByRole('link', { name: 'console table 4' }).waitFor()
    await shoot('experiments')
  })

  it('at phone width with URL input on: scores a picked file and an image URL, without layout shift', async () => {
    // An image host on loopback stands in for the internet: the edge (in this process, URL input on) resolves
    // `images.example` to a public address and its fetches reach this server; every other name does not resolve.
    const images: Server = createServer((req, res) => {
      if (req.url === '/generated.png') res.writeHead(200, { 'content-type': 'image/png' }).end(generated)
      else res.writeHead(404).end()
    })
    await new Promise<void>((done) => images.listen(0, '127.0.0.1', done))
    const imagePort = (images.address() as AddressInfo).port
    const db = await createDb(`file:${join(work, 'url-edge.db')}`)
    const app = createApp({
      store: createLibsqlStore(db),
      runners: new RunnerPool([runner.url]),
      log: () => {},
      config: { allowUrlInput: true },
      resolveHost: async (host) => {
        if (host !== 'images.example') throw new Error(`ENOTFOUND ${host}`)
        return ['93.184.216.34']
      },
      fetchUrl: ((input: RequestInfo | URL, init?: RequestInit) =>
        fetch(`http://127.0.0.1:${imagePort}${new URL(input instanceof Request ? input.url : String(input)).pathname}`, init)) as typeof fetch,
    })
    const server = await new Promise<ReturnType<typeof serve>>((done) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => done(s))
    })
    const urlEdge = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const phone = await browser.newPage({ viewport: { width: 375, height: 812 } })
    await watchLayoutShifts(phone)
    try {
      await phone.goto(`${urlEdge}/`)
      await phone.getByLabel('Choose images').setInputFiles([{ name: 'photo.jpg', mimeType: 'image/jpeg', buffer: photo }])
      await phone.getByLabel('Image URL').fill('http://images.example/generated.png')
      await phone.getByRole('button', { name: 'Score URL' }).click()
      const url = phone.locator('li.upload', { hasText: 'http://images.example/generated.png' })
      await phone.locator('li.upload[data-state="scored"]', { hasText: 'photo.jpg' }).waitFor()
      await phone.locator('li.upload[data-state="scored"]', { hasText: 'generated.png' }).waitFor()
      // The URL's verdict is the one the API gives for the same bytes uploaded.
      expect(await url.locator('.verdict strong').textContent()).toBe(await apiVerdict(generated, 'generated.png'))
      await url.getByText('JSON answer and curl').click()
      expect(await url.locator('pre').first().textContent()).toContain('url=http://images.example/generated.png')
      const shift = await layoutShift(phone)
      expect(shift.total, shift.entries).toBeLessThan(0.01)
      expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375)
      // A name that does not resolve to a public address is refused, and the console says what that means.
      await phone.getByLabel('Image URL').fill('http://intranet.local/a.png')
      await phone.getByRole('button', { name: 'Score URL' }).click()
      const refused = phone.locator('li.upload[data-state="refused"]', { hasText: 'intranet.local' })
      await refused.waitFor()
      expect(await refused.getByRole('alert').textContent()).toMatch(/url_(not_allowed|fetch_failed)/)
      await phone.screenshot({ path: join(output, 'detect-url-375.png'), fullPage: true })
    } finally {
      await phone.close()
      await new Promise<void>((done) => server.close(() => done()))
      await new Promise<void>((done) => images.close(() => done()))
      db.$client.close()
    }
  })

  it('asks for a key once keys are required, refuses a wrong one and works with the right one', async () => {
    const db = await createDb(databaseUrl)
    const key = await createApiKey(db, { name: 'console', scopes: ['detect', 'experiments'] })
    db.$client.close()
    await page.goto(`${edge.url}/#/models`)
    await page.reload()
    await page.getByRole('heading', { name: 'This deployment needs an API key' }).waitFor()
    await shoot('key-required')
    await page.getByLabel('API key', { exact: true }).fill('gk_wrong-key')
    await page.getByRole('button', { name: 'Use this key' }).click()
    await page.getByText(/Refused: the API key is not valid \(401 unauthorized\)/).waitFor()
    await page.getByLabel('API key', { exact: true }).fill(key.secret)
    await page.getByRole('button', { name: 'Use this key' }).click()
    await page.locator('article.model-card', { hasText: 'npr-residual-handmade' }).waitFor()
    expect(await page.getByRole('heading', { name: 'This deployment needs an API key' }).count()).toBe(0)
    expect(await page.evaluate(() => sessionStorage.getItem('genimage.apiKey'))).toBe(key.secret)
    await page.goto(`${edge.url}/#/detect`)
    // Dropped and pasted images go the same way as picked ones.
    await page.evaluate((base64) => {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))
      const drop = new DataTransfer()
      drop.items.add(new File([bytes], 'keyed.jpg', { type: 'image/jpeg' }))
      document.querySelector('.dropzone')!.dispatchEvent(new DragEvent('drop', { dataTransfer: drop, bubbles: true, cancelable: true }))
      const paste = new DataTransfer()
      paste.items.add(new File([bytes], 'pasted.jpg', { type: 'image/jpeg' }))
      document.body.dispatchEvent(new ClipboardEvent('paste', { clipboardData: paste, bubbles: true }))
    }, photo.toString('base64'))
    await settled('keyed.jpg', 'scored')
    await settled('pasted.jpg', 'scored')
    await upload('keyed.jpg').getByText('JSON answer and curl').click()
    const curl = (await upload('keyed.jpg').locator('pre').first().textContent()) ?? ''
    expect(curl).toContain('Authorization: Bearer $GENIMAGE_API_KEY')
    expect(curl).not.toContain(key.secret)
    // This key has no admin scope: the console does not offer the Keys page.
    expect(await page.getByRole('navigation', { name: 'Console pages' }).textContent()).not.toContain('Keys')
  })

  it('with an admin key: lists keys, creates one (its secret shown once) and revokes it', async () => {
    const db = await createDb(databaseUrl)
    const admin = await createApiKey(db, { name: 'console-admin', scopes: ['admin'] })
    db.$client.close()
    await page.evaluate((secret) => sessionStorage.setItem('genimage.apiKey', secret), admin.secret)
    await page.goto(`${edge.url}/#/keys`)
    await page.reload()
    await page.getByRole('navigation', { name: 'Console pages' }).getByRole('link', { name: 'Keys' }).waitFor()
    const table = page.locator('table.keys')
    await table.getByText('console-admin').waitFor()
    await page.getByLabel('Name', { exact: true }).fill('ci-bot')
    await page.getByLabel('experiments').check()
    await page.getByRole('button', { name: 'Create key' }).click()
    const shown = page.getByRole('status').locator('pre')
    const secret = (await shown.first().textContent())?.trim() ?? ''
    expect(secret).toMatch(/^gik_/)
    expect((await shown.nth(1).textContent())?.trim()).toMatch(/^gcs_[\w-]{43}$/)
    await table.getByText('ci-bot').waitFor()
    expect(await table.locator('tr', { hasText: 'ci-bot' }).textContent()).toMatch(/detect, experiments/)
    expect(await table.textContent()).not.toContain(secret)
    expect((await fetch(`${edge.url}/v1/experiments`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200)
    await shoot('keys')
    await page.getByRole('button', { name: 'Revoke key ci-bot' }).click()
    await table
      .locator('tr', { hasText: 'ci-bot' })
      .getByText(/revoked/)
      .waitFor()
    expect((await fetch(`${edge.url}/v1/experiments`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(401)
  })
})
