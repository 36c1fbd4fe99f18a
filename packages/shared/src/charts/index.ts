/**
 * The experiment report and its charts: pure string builders (markdown, SVG 1.1, an HTML fragment) shared by
 * `genimage report` and the web console, so both draw the same heatmap, bars and training curves.
 */
export { buildExperimentReport, type ExperimentReport } from './experiment-report.ts'
export { readingNotes } from './reading-notes.ts'
export { experimentReportBodyHtml, experimentReportHtml } from './report-html.ts'
export { accuracyColour, groupedBarsSvg, heatmapSvg, lineChartSvg } from './svg.ts'
