import type { Command } from 'commander'
import { registerModelCommands } from './models.ts'
import { registerStartCommands } from './start.ts'
import { registerTrainCommands } from './train.ts'

/** Each command group lives in its own file and registers itself on the root program. */
export function registerCommands(program: Command): void {
  registerStartCommands(program)
  registerModelCommands(program)
  registerTrainCommands(program)
}
