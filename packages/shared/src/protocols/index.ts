export { expandProtocol, findPaperTrainGenerator, PAPER_TRAIN_GENERATOR, ProtocolError, TABLE5_DEGRADATIONS, type PlannedRun } from './expand.ts'
export { GENIMAGE_PAPER, isGenImageDataset, paperGeneratorName, publishedTable3Average, type PublishedAverage } from './paper.ts'
export { describeDegradation, parseDegradation, type Degradation } from './degradations.ts'
