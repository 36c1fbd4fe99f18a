import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import { buildExperimentReport } from '../report/experiment-report.ts'
import { apiFrom, apiOptions } from './experiment.ts'

/** `genimage report <id>`: markdown in the paper's layout plus SVG charts, from the edge API. */
export function registerReportCommands(program: Command): void {
  apiOptions(
    program
      .command('report')
      .description("write an experiment's report: tables in the paper's layout (with its published numbers when the data is GenImage) and SVG charts")
      .argument('<id>', 'experiment id')
      .option('--out <dir>', 'output folder (default reports/<id>)'),
  ).action(async (id: string, opts: { out?: string; api: string; apiKey?: string }) => {
    const experiment = await apiFrom(opts).get(id)
    const report = buildExperimentReport(experiment)
    const out = resolve(opts.out ?? join('reports', id))
    await mkdir(out, { recursive: true })
    await writeFile(join(out, 'report.md'), report.markdown)
    for (const [name, content] of Object.entries(report.files)) await writeFile(join(out, name), content)
    for (const c of report.crossGenerator)
      console.error(`${c.model}: own generator ${(100 * c.diagonal).toFixed(1)}%, other generators ${(100 * c.offDiagonal).toFixed(1)}%`)
    console.log(`wrote ${join(out, 'report.md')}${Object.keys(report.files).length ? ` and ${Object.keys(report.files).join(', ')}` : ''}`)
    if (experiment.state !== 'succeeded') console.error(`note: the experiment is ${experiment.state}; the report shows the results so far`)
  })
}
