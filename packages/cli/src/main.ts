import { Command } from 'commander'
import { registerCommands } from './commands/index.ts'

const program = new Command('genimage')
  .description('GenImage detection platform: datasets, detectors, experiments and the detect API')
  .showHelpAfterError()

registerCommands(program)

try {
  await program.parseAsync(process.argv)
} catch (error) {
  console.error(`genimage: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = process.exitCode || 1
}
