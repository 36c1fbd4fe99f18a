import type { Command } from 'commander'

/** Each command group lives in its own file and registers itself on the root program. */
export function registerCommands(program: Command): void {
  void program
}
