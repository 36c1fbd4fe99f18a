import { Command } from 'commander'

/**
 * Long-running servers load only their own command group: the other groups import the training stack (tfjs),
 * ~45 MB of heap that would make every full garbage collection of a serving process several times slower.
 */
const SERVER_COMMANDS = new Set(['runner', 'edge'])

const program = new Command('genimage').description('GenImage detection platform: datasets, detectors, experiments and the detect API').showHelpAfterError()

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
  console.error(`genimage: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = process.exitCode || 1
}
