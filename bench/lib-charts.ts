// Benchmark: the report's hand-written SVG charts (packages/shared/src/charts/svg.ts) vs Vega-Lite compiled to Vega and
// rendered headless in Node (`view.toSVG()`), on the same cross-generator heatmap (8 × 8) and training-curve line
// chart (2 panels × 4 series × 30 epochs): render time, install size and the gzipped browser bundle.
// The peer is not a project dependency; install it in a scratch folder first:
//   mkdir -p /tmp/libtrial && cd /tmp/libtrial && npm init -y && npm install vega vega-lite
// Usage: npx tsx bench/lib-charts.ts [scratch=/tmp/libtrial]
// biome-ignore-all lint/suspicious/noExplicitAny: the peer libraries load at run time from a scratch folder, without types
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import { heatmapSvg, lineChartSvg } from '@genimage/shared/charts'
import { microsPerCall, ratioRow } from './lib-bench-util.ts'

const scratch = process.argv[2] ?? '/tmp/libtrial'
const scratchRequire = createRequire(join(scratch, 'package.json'))
const vega = (await import(scratchRequire.resolve('vega'))) as any
const vegaLite = (await import(scratchRequire.resolve('vega-lite'))) as any

const generators = ['Midjourney', 'SD V1.4', 'SD V1.5', 'ADM', 'GLIDE', 'Wukong', 'VQDM', 'BigGAN']
const accuracy = (r: number, c: number) => (r === c ? 0.99 : 0.5 + (((r * 7 + c * 3) % 10) / 10) * 0.45)
const series = ['resnet50', 'deit-s', 'swin-t', 'cnnspot']
const curve = (s: number, metric: number) =>
  Array.from(
    { length: 30 },
    (_, e) => [e + 1, metric ? 0.6 + 0.38 * (1 - Math.exp(-(e + 1) / (4 + s))) : 0.7 * Math.exp(-(e + 1) / (6 + s))] as [number, number],
  )

const ourHeatmap = () => heatmapSvg('Cross-generator accuracy', generators, generators, accuracy)
const ourLines = () =>
  lineChartSvg(
    'Training curves',
    ['loss', 'val accuracy'].map((label, m) => ({ label, series: series.map((name, s) => ({ name, points: curve(s, m) })) })),
  )

const heatmapSpec = {
  title: 'Cross-generator accuracy',
  data: { values: generators.flatMap((train, r) => generators.map((test, c) => ({ train, test, accuracy: accuracy(r, c) }))) },
  encoding: { y: { field: 'train', type: 'nominal', sort: null }, x: { field: 'test', type: 'nominal', sort: null } },
  layer: [
    {
      mark: 'rect',
      encoding: { color: { field: 'accuracy', type: 'quantitative', scale: { domain: [0, 0.5, 1], range: ['#ca0020', '#ffffff', '#2166ac'] } } },
    },
    { mark: 'text', encoding: { text: { field: 'accuracy', type: 'quantitative', format: '.1%' } } },
  ],
}
const lineSpec = {
  title: 'Training curves',
  data: {
    values: ['loss', 'val accuracy'].flatMap((metric, m) => series.flatMap((name, s) => curve(s, m).map(([epoch, value]) => ({ metric, name, epoch, value })))),
  },
  mark: { type: 'line', point: true },
  encoding: {
    column: { field: 'metric', type: 'nominal' },
    x: { field: 'epoch', type: 'quantitative' },
    y: { field: 'value', type: 'quantitative' },
    color: { field: 'name', type: 'nominal' },
  },
  resolve: { scale: { y: 'independent' } },
}
/** Vega-Lite → Vega → a headless view → SVG text, as `genimage report` would have to do for each chart. */
async function vegaSvg(spec: object): Promise<string> {
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}

/** Bytes on disk of a package and everything it depends on, as npm installs them in `scratch`. */
function installedBytes(roots: string[]): number {
  const seen = new Set<string>()
  const visit = (name: string, from: string) => {
    let manifest = join(from, 'node_modules', name, 'package.json')
    for (let dir = from; !existsSync(manifest); manifest = join(dir, 'node_modules', name, 'package.json')) {
      if (dir === dirname(dir)) return // an optional dependency that is not installed
      dir = dirname(dir)
    }
    const dir = dirname(manifest)
    if (seen.has(dir)) return
    seen.add(dir)
    const pkg = JSON.parse(readFileSync(manifest, 'utf8'))
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, dir)
  }
  for (const root of roots) visit(root, scratch)
  return [...seen].reduce((sum, dir) => sum + Number(execFileSync('du', ['-sb', '--exclude=node_modules', dir], { encoding: 'utf8' }).split('\t')[0]), 0)
}

/** Minified, gzipped bytes of a browser ES module bundle of `contents`. */
async function gzippedBundle(contents: string, resolveDir: string): Promise<number> {
  const result = await build({ stdin: { contents, resolveDir, loader: 'ts' }, bundle: true, minify: true, format: 'esm', platform: 'browser', write: false })
  return gzipSync(result.outputFiles[0]!.contents).byteLength
}

console.log('charts: hand-written SVG (ours) vs Vega-Lite + Vega rendered headless (peer)')
for (const [name, ours, spec] of [
  ['heatmap 8 × 8', ourHeatmap, heatmapSpec],
  ['line chart 2 panels × 4 series × 30 epochs', ourLines, lineSpec],
] as const) {
  const [ourSvg, peerSvg] = [ours(), await vegaSvg(spec)]
  console.log(`\n${name}`)
  console.log(
    ratioRow(
      '  render to SVG text (ms)',
      'ms',
      ['ours', (await microsPerCall(ours, 200)) / 1000],
      ['peer', (await microsPerCall(() => vegaSvg(spec), 20)) / 1000],
    ),
  )
  console.log(ratioRow('  SVG size (bytes)', 'B', ['ours', ourSvg.length], ['peer', peerSvg.length]))
}
const svgModule = fileURLToPath(import.meta.resolve('@genimage/shared/charts'))
const auditModule = fileURLToPath(import.meta.resolve('@genimage/dataset-tools'))
console.log('\nsize')
console.log(
  ratioRow(
    '  installed, with dependencies (KB)',
    'KB',
    ['ours', (readFileSync(svgModule).length + readFileSync(auditModule).length) / 1024],
    ['peer', installedBytes(['vega', 'vega-lite']) / 1024],
  ),
)
const ourBundle = await gzippedBundle(`export * from '${svgModule}'\nexport { renderAuditSvg } from '${auditModule}'`, scratch)
console.log(
  ratioRow(
    '  browser bundle, Vega-Lite compiler + Vega (gzip KB)',
    'KB',
    ['ours', ourBundle / 1024],
    ['peer', (await gzippedBundle(`export { compile } from 'vega-lite'\nexport { View, parse } from 'vega'`, scratch)) / 1024],
  ),
)
console.log(
  ratioRow(
    '  browser bundle, Vega only, specs precompiled (gzip KB)',
    'KB',
    ['ours', ourBundle / 1024],
    ['peer', (await gzippedBundle(`export { View, parse } from 'vega'`, scratch)) / 1024],
  ),
)
console.log('  budget for the whole web console client: 150 KB gzipped')
