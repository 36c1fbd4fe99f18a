import type { Command } from 'commander'

type Register = (program: Command) => void

/** One top-level command: what `genimage --help` says of it, and the file that registers it (loaded only when used). */
export interface TopLevelCommand {
  /** Name plus arguments, as commander's `.command()` takes it: `report <id>`. */
  usage: string
  description: string
  load: () => Promise<Register>
}

const start = () => import('./start.ts').then((m) => m.registerStartCommands)

/**
 * Every top-level `genimage` command. A command group's file imports what its actions run (tfjs, onnxruntime, sharp,
 * libSQL) and is loaded only when that group is on the command line, so `genimage --help`, `keys` and `experiment`
 * start in well under a second. The descriptions repeat the groups' own; a test keeps them equal.
 */
export const TOP_LEVEL_COMMANDS: readonly TopLevelCommand[] = [
  {
    usage: 'start',
    description: 'start the local stack: one runner (detect + train), the edge API and a libSQL file database (Ctrl-C stops it)',
    load: start,
  },
  { usage: 'runner', description: 'start one runner (OIP v2) serving the models in MODEL_DIR on RUNNER_PORT', load: start },
  { usage: 'edge', description: 'start the edge API on PORT, routing to RUNNER_URLS, recording in DATABASE_URL', load: start },
  {
    usage: 'models',
    description: 'model folders (model.onnx + card.json) the runner serves',
    load: () => import('./models.ts').then((m) => m.registerModelCommands),
  },
  {
    usage: 'train',
    description: 'train a zoo detector (tfjs) on a GenImage-layout dataset root and write model.onnx + card.json; re-running resumes from the checkpoint',
    load: () => import('./train.ts').then((m) => m.registerTrainCommands),
  },
  {
    usage: 'dataset',
    description: 'build, check and audit GenImage-layout datasets (<Generator>/{train,val}/{ai,nature})',
    load: () => import('./dataset.ts').then((m) => m.registerDatasetCommands),
  },
  {
    usage: 'keys',
    description: 'API keys for the edge (stored hashed in DATABASE_URL)',
    load: () => import('./keys.ts').then((m) => m.registerKeysCommands),
  },
  {
    usage: 'experiment',
    description: 'GenImage protocols (Table 3, 4, 5, custom) as jobs on the runner pool',
    load: () => import('./experiment.ts').then((m) => m.registerExperimentCommands),
  },
  {
    usage: 'report',
    description: "write an experiment's report: tables in the paper's layout (with its published numbers when the data is GenImage) and SVG charts",
    load: () => import('./report.ts').then((m) => m.registerReportCommands),
  },
  {
    usage: 'detections',
    description: 'past detections recorded by the edge (GET /v1/detections): list them or export them all',
    load: () => import('./detections.ts').then((m) => m.registerDetectionsCommands),
  },
  {
    usage: 'detect',
    description: 'score image files or folders through the detect API (16 images per request) and print one verdict per image',
    load: () => import('./detect.ts').then((m) => m.registerDetectCommands),
  },
]

const commandName = (entry: TopLevelCommand) => entry.usage.split(' ')[0]

/**
 * Registers the command named by `name` (the first word after `genimage`) with its real options and actions; when
 * `name` names none (`genimage --help`, a typo), registers every command with its description only, for the help.
 */
export async function registerCommands(program: Command, name: string | undefined): Promise<void> {
  const chosen = TOP_LEVEL_COMMANDS.find((entry) => commandName(entry) === name)
  if (chosen) {
    ;(await chosen.load())(program)
    return
  }
  for (const entry of TOP_LEVEL_COMMANDS) program.command(entry.usage).description(entry.description)
}

/** Registers every command with its options and actions (tests, and anything that needs the whole tree). */
export async function registerAllCommands(program: Command): Promise<void> {
  const loaded = new Set<Register>()
  for (const entry of TOP_LEVEL_COMMANDS) {
    const register = await entry.load()
    if (loaded.has(register)) continue
    loaded.add(register)
    register(program)
  }
}
