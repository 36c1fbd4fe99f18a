import { resolveZooModel, UnknownModelError, type Architecture, type ZooEntry } from '../zoo/index.ts'
import { degradationId, parseDegradation, TABLE5_PAPER_COLUMNS, type Table5PaperColumn } from './degradations.ts'
import { PAPER_TABLE3, PAPER_TABLE4, PAPER_TABLE5, type PublishedTable } from './paper-numbers.ts'

/** Where the published numbers come from. */
export const GENIMAGE_PAPER = 'GenImage (Zhu et al., NeurIPS 2023, arXiv 2306.08571)'

/** A published Table 3 average (percent) for a zoo model's architecture, with its source. */
export interface PublishedAverage {
  architecture: string
  displayName: string
  average: number
  source: string
}

function zooEntry(model: string): ZooEntry | undefined {
  try {
    return resolveZooModel(model).entry
  } catch (error) {
    if (error instanceof UnknownModelError) return undefined
    throw error
  }
}

/**
 * The published average accuracy on the Table 3 protocol (train SD V1.4, test all eight) for the
 * architecture behind a zoo model name (`npr-tiny` → NPR's 90.1), as the zoo's model card carries it.
 * A tiny variant is a different model; the caller says so beside the number.
 */
export function publishedTable3Average(model: string): PublishedAverage | undefined {
  const entry = zooEntry(model)
  if (entry?.paper.genimageTable3Average === undefined) return undefined
  return {
    architecture: entry.architecture,
    displayName: entry.displayName,
    average: entry.paper.genimageTable3Average,
    source: entry.paper.table3Source ?? GENIMAGE_PAPER,
  }
}

/** The GenImage tables whose published numbers are carried. */
export type PaperTableId = 'table3' | 'table4' | 'table5'

/** A published row for one architecture, as a report shows it beside a measured row. */
export interface PublishedRow {
  table: PaperTableId
  architecture: Architecture
  displayName: string
  /**
   * Published accuracies (%) by column: the paper's generator name (Tables 3 and 4) or a Table 5
   * degradation id (`jpeg-65`). A column the source does not publish for this architecture is absent.
   */
  cells: Readonly<Partial<Record<string, number>>>
  /** The row's published average (%). */
  average: number
  source: string
}

const TABLES: Record<PaperTableId, PublishedTable<string>> = { table3: PAPER_TABLE3, table4: PAPER_TABLE4, table5: PAPER_TABLE5 }

/**
 * The published row of GenImage's Table 3, 4 or 5 for the architecture behind a zoo model name
 * (`resnet50-tiny` → ResNet-50's row). For Table 3, an architecture the paper did not evaluate but later
 * work reports on the same protocol (NPR, UnivFD) gets its published average only, with that source.
 * Undefined when nothing is published for it.
 */
export function publishedPaperRow(table: PaperTableId, model: string): PublishedRow | undefined {
  const entry = zooEntry(model)
  if (!entry) return undefined
  const base = { table, architecture: entry.architecture, displayName: entry.displayName }
  const published = TABLES[table].rows[entry.architecture]
  if (published) return { ...base, cells: published.cells, average: published.average, source: TABLES[table].source }
  if (table === 'table3' && entry.paper.genimageTable3Average !== undefined) {
    return { ...base, cells: {}, average: entry.paper.genimageTable3Average, source: entry.paper.table3Source ?? GENIMAGE_PAPER }
  }
  return undefined
}

/** The Table 5 column a degradation id stands for (`blur-3.0` → `blur-3`); undefined for `none` and degradations the paper did not test. */
export function paperTable5Column(degradation: string): Table5PaperColumn | undefined {
  const id = degradationId(parseDegradation(degradation))
  return TABLE5_PAPER_COLUMNS.find((column) => column === id)
}
