import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { type Command, Option } from 'commander'
import { buildExperimentReport, experimentReportHtml } from '@genimage/shared/charts'
import { apiOptions } from '../api-target.ts'
import { type ApiFlags, experimentApi } from './experiment.ts'

/** `genimage report <id>`: markdown in the paper's layout plus SVG charts, from the edge API. */
export function registerReportCommands(program: Command): void {
  apiOptions(
    program
      .command('report')
      .description("write an experiment's report: tables in the paper's layout (with its published numbers when the data is GenImage) and SVG charts")
      .argument('<id>', 'experiment id')
      .option('--out <dir>', 'output folder (default reports/<id>)')
      .addOption(
        new Option('--format <format>', 'md: report.md + SVG files; html: also report.html, one page with the charts inline that opens in a browser')
          .choices(['md', 'html'])
          .default('md'),
      ),
    'experiments',
  ).action(async (id: string, opts: ApiFlags & { out?: string; format: 'md' | 'html' }) => {
    const experiment = await (await experimentApi(opts)).api.get(id)
    const report = buildExperimentReport(experiment)
    const out = resolve(opts.out ?? join('reports', id))
    await mkdir(out, { recursive: true })
    await writeFile(join(out, 'report.md'), report.markdown)
    for (const [name, content] of Object.entries(report.files)) await writeFile(join(out, name), content)
    if (opts.format === 'html') {
      const title = `Experiment ${experiment.id}${experiment.name ? ` — ${experiment.name}` : ''}`
      await writeFile(join(out, 'report.html'), experimentReportHtml(title, report.markdown, report.files))
      console.log(`wrote ${join(out, 'report.html')} (open it in a browser)`)
    }
    for (const c of report.crossGenerator)
      console.error(`${c.model}: own generator ${(100 * c.diagonal).toFixed(1)}%, other generators ${(100 * c.offDiagonal).toFixed(1)}%`)
    console.log(`wrote ${join(out, 'report.md')}${Object.keys(report.files).length ? ` and ${Object.keys(report.files).join(', ')}` : ''}`)
    if (experiment.state !== 'succeeded') console.error(`note: the experiment is ${experiment.state}; the report shows the results so far`)
  })
}
