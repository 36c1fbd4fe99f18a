import type { Command } from 'commander'
import { registerDatasetCommands } from './dataset.ts'
import { registerExperimentCommands } from './experiment.ts'
import { registerKeysCommands } from './keys.ts'
import { registerModelCommands } from './models.ts'
import { registerReportCommands } from './report.ts'
import { registerStartCommands } from './start.ts'
import { registerTrainCommands } from './train.ts'

/** Each command group lives in its own file and registers itself on the root program. */
export function registerCommands(program: Command): void {
  registerStartCommands(program)
  registerModelCommands(program)
  registerTrainCommands(program)
  registerDatasetCommands(program)
  registerKeysCommands(program)
  registerExperimentCommands(program)
  registerReportCommands(program)
}
