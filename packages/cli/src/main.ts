import { Command } from 'commander'
import { EXIT_STATUS_HELP, endWithError } from './exit-codes.ts'

/**
 * Long-running servers load only their own command group: the other groups import the training stack (tfjs),
 * ~45 MB of heap that would make every full garbage collection of a serving process several times slower.
 */
const SERVER_COMMANDS = new Set(['runner', 'edge'])

// exitOverride before any subcommand exists, so every command inherits it: usage errors come back here as CommanderError.
const program = new Command('genimage')
  .description('GenImage detection platform: datasets, detectors, experiments and the detect API')
  .showHelpAfterError()
  .exitOverride()
  .addHelpText('after', EXIT_STATUS_HELP)

if (SERVER_COMMANDS.has(process.argv[2] ?? '')) {
  const { registerStartCommands } = await import('./commands/start.ts')
  registerStartCommands(program)
} else {
  const { registerCommands } = await import('./commands/index.ts')
  registerCommands(program)
}

try {
  await program.parseAsync(process.argv)
} catch (error) {
  endWithError(error)
}
