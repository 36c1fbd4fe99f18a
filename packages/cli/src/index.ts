/** What other workspaces may use of the CLI: the report charts (benchmarks draw theirs with them). */
export { heatmapSvg, lineChartSvg } from './report/svg.ts'
