import { Command } from 'commander'
import { registerCommands } from './commands/index.ts'
import { reportStartupIfAsked } from './startup-report.ts'
import { EXIT_STATUS_HELP, endWithError } from './exit-codes.ts'

// exitOverride before any subcommand exists, so every command inherits it: usage errors come back here as CommanderError.
const program = new Command('genimage')
  .description('GenImage detection platform: datasets, detectors, experiments and the detect API')
  .showHelpAfterError()
  .exitOverride()
  .addHelpText('after', EXIT_STATUS_HELP)

reportStartupIfAsked()
// Only the command on the command line is loaded (`genimage help <command>` names it second): a serving process does
// not carry the training stack (tfjs, ~45 MB of heap), and `--help`, `keys` and `experiment` start in well under a second.
const [first, second] = process.argv.slice(2)
await registerCommands(program, first === 'help' ? second : first)

try {
  await program.parseAsync(process.argv)
} catch (error) {
  endWithError(error)
}
