import type { Architecture } from '../zoo/index.ts'
import { TABLE5_PAPER_COLUMNS, type Table5PaperColumn } from './degradations.ts'
import { GENERATOR_NAMES, type GenImageGenerator } from './generators.ts'

/** One published row: accuracy (%) per column and the row's published average, exactly as printed. */
export interface PublishedTableRow<Column extends string> {
  cells: Readonly<Record<Column, number>>
  average: number
}

/** A table of published accuracies (%), one row per detector architecture of the zoo. */
export interface PublishedTable<Column extends string> {
  /** The table's number and caption, as the authors give them. */
  caption: string
  /** Where the numbers were read. */
  source: string
  /** What one cell is. */
  cellMeaning: string
  /** Column keys in the paper's order. */
  columns: readonly Column[]
  rows: Readonly<Partial<Record<Architecture, PublishedTableRow<Column>>>>
}

/**
 * The paper's Tables 3–5 as its authors tabulate them in the "Benchmark" section of the official
 * repository's Readme.md (the paper's own PDF/HTML text was not readable where these were transcribed).
 */
export const GENIMAGE_TABLES_SOURCE =
  'GenImage (Zhu et al., NeurIPS 2023 Datasets and Benchmarks, arXiv 2306.08571), as tabulated by its authors in github.com/GenImage-Dataset/GenImage, Readme.md "Benchmark" (commit 613c8c7)'

const GENERATOR_COLUMNS: readonly GenImageGenerator[] = GENERATOR_NAMES

/** Builds a row from values in column order (the layout of the source), refusing a row of the wrong width. */
function row<Column extends string>(columns: readonly Column[], values: readonly number[], average: number): PublishedTableRow<Column> {
  if (values.length !== columns.length) throw new Error(`a published row needs ${columns.length} values, got ${values.length}`)
  return { cells: Object.fromEntries(columns.map((c, i) => [c, values[i]!])) as Record<Column, number>, average }
}

const g = (values: readonly number[], average: number) => row(GENERATOR_COLUMNS, values, average)
const d = (values: readonly number[], average: number) => row(TABLE5_PAPER_COLUMNS, values, average)

/** GenImage Table 3: trained on SD V1.4, tested on each generator's val set. */
export const PAPER_TABLE3: PublishedTable<GenImageGenerator> = {
  caption: 'Table 3: Results of different methods trained on SD V1.4 and evaluated on different testing subsets.',
  source: GENIMAGE_TABLES_SOURCE,
  cellMeaning: "accuracy (%) of the model trained on SD V1.4, on the column's val subset",
  columns: GENERATOR_COLUMNS,
  rows: {
    resnet50: g([54.9, 99.9, 99.7, 53.5, 61.9, 98.2, 56.6, 52.0], 72.1),
    'deit-s': g([55.6, 99.9, 99.8, 49.8, 58.1, 98.9, 56.9, 53.5], 71.6),
    'swin-t': g([62.1, 99.9, 99.8, 49.8, 67.6, 99.1, 62.3, 57.6], 74.8),
    cnnspot: g([52.8, 96.3, 95.9, 50.1, 39.8, 78.6, 53.4, 46.8], 64.2),
    spec: g([52.0, 99.4, 99.2, 49.7, 49.8, 94.8, 55.6, 49.8], 68.8),
    f3net: g([50.1, 99.9, 99.9, 49.9, 50.0, 99.9, 49.9, 49.9], 68.7),
    gramnet: g([54.2, 99.2, 99.1, 50.3, 54.6, 98.9, 50.8, 51.7], 69.9),
  },
}

/**
 * GenImage Table 4: eight models per method, one trained on each generator. The paper prints only
 * column averages: each cell is the mean accuracy of the eight models on the column's test subset.
 * The per-training-generator matrix is not published in this table.
 */
export const PAPER_TABLE4: PublishedTable<GenImageGenerator> = {
  caption:
    'Table 4: Results of cross-validation on different training and test subsets using different methods. Eight models trained on eight generators are tested on one generator, and their average accuracy is each data point in the testing subset column.',
  source: GENIMAGE_TABLES_SOURCE,
  cellMeaning: "mean accuracy (%) on the column's test subset of the eight models, one trained on each generator",
  columns: GENERATOR_COLUMNS,
  rows: {
    resnet50: g([59.0, 72.3, 72.4, 59.7, 73.1, 71.4, 60.9, 66.6], 66.9),
    'deit-s': g([60.7, 74.2, 74.2, 59.5, 71.1, 73.1, 61.7, 66.3], 67.6),
    'swin-t': g([61.7, 76.0, 76.1, 61.3, 76.9, 75.1, 65.8, 69.5], 70.3),
    cnnspot: g([58.2, 70.3, 70.2, 57.0, 57.1, 67.7, 56.7, 56.6], 61.7),
    spec: g([56.7, 72.4, 72.3, 57.9, 65.4, 70.3, 61.7, 64.3], 65.1),
    f3net: g([55.1, 73.1, 73.1, 66.5, 57.8, 72.3, 62.1, 56.5], 64.6),
    gramnet: g([58.1, 72.8, 72.7, 58.7, 65.3, 71.3, 57.8, 61.2], 64.7),
  },
}

/**
 * GenImage Table 5: degraded test images (LR = downscaled to the given size, q = JPEG quality). The
 * Readme's caption does not name the training set; the protocol (train on SD V1.4, test on its degraded
 * val set) is the project's reading of the paper, as in TABLE5_DEGRADATIONS.
 */
export const PAPER_TABLE5: PublishedTable<Table5PaperColumn> = {
  caption: 'Table 5: Model evaluation on degraded images. q denotes quality.',
  source: GENIMAGE_TABLES_SOURCE,
  cellMeaning: 'accuracy (%) on the degraded test images; the average is over the six degradations',
  columns: TABLE5_PAPER_COLUMNS,
  rows: {
    resnet50: d([96.2, 57.4, 51.9, 51.2, 97.9, 69.4], 70.6),
    'deit-s': d([97.1, 54.0, 55.6, 50.5, 94.4, 67.2], 69.8),
    'swin-t': d([97.4, 54.6, 52.5, 50.9, 94.5, 52.5], 67.0),
    cnnspot: d([50.0, 50.0, 97.3, 97.3, 97.4, 77.9], 78.3),
    spec: d([50.0, 49.9, 50.8, 50.4, 49.9, 49.9], 50.1),
    f3net: d([50.0, 50.0, 89.0, 74.4, 57.9, 51.7], 62.1),
    gramnet: d([98.8, 94.9, 68.8, 53.4, 95.9, 81.6], 82.2),
  },
}
