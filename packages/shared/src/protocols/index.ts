export { expandProtocol, findPaperTrainGenerator, PAPER_TRAIN_GENERATOR, ProtocolError, TABLE5_DEGRADATIONS, type PlannedRun } from './expand.ts'
export {
  GENIMAGE_PAPER,
  paperTable5Column,
  publishedPaperRow,
  publishedTable3Average,
  type PaperTableId,
  type PublishedAverage,
  type PublishedRow,
} from './paper.ts'
export {
  GENIMAGE_TABLES_SOURCE,
  PAPER_TABLE3,
  PAPER_TABLE4,
  PAPER_TABLE5,
  TABLE5_PAPER_COLUMNS,
  type PublishedTable,
  type PublishedTableRow,
  type Table5PaperColumn,
} from './paper-numbers.ts'
export { describeDegradation, parseDegradation, type Degradation } from './degradations.ts'
