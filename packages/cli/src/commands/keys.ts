import { type Command, Option } from 'commander'
import { saveCreatedKey } from '../api-target.ts'
import { EXIT, exitWith } from '../exit-codes.ts'
import { commaList, requestsPerMinute } from '../options.ts'

// Loaded by the actions only: libSQL and drizzle take most of a second, which `genimage keys --help` need not spend.
const dbModule = () => import('@genimage/shared/db')
const databaseUrl = () => process.env.DATABASE_URL ?? 'file:./data/genimage.db'

async function openDb() {
  const url = databaseUrl()
  const { createDb, ensureDbDirectory } = await dbModule()
  await ensureDbDirectory(url)
  return createDb(url, { authToken: process.env.DATABASE_AUTH_TOKEN })
}

/** `genimage keys create|list|revoke`: API keys for the edge, stored as sha256 hashes in DATABASE_URL. */
export function registerKeysCommands(program: Command): void {
  const keys = program.command('keys').description('API keys for the edge (stored hashed in DATABASE_URL)')

  keys
    .command('create')
    .description('create a key and print its secret (shown only this once)')
    .requiredOption('--name <name>', 'who or what uses the key')
    .addOption(
      new Option('--scopes <list>', 'comma-separated: detect, experiments (its own), metrics (/metrics only), admin (all)')
        .argParser(commaList)
        .default(['detect'], 'detect'),
    )
    .option('--rate-limit <rate>', 'requests per minute per edge instance: N, N/min, N/s', requestsPerMinute)
    .option('--json', 'print JSON')
    .option('--save', 'also save the secret for later genimage commands ($GENIMAGE_CONFIG, else ~/.config/genimage/api-key.json, mode 0600)')
    .action(async (opts: { name: string; scopes: string[]; rateLimit?: number; json?: boolean; save?: boolean }) => {
      const db = await openDb()
      try {
        const key = await (await dbModule()).createApiKey(db, {
          name: opts.name,
          scopes: opts.scopes,
          ...(opts.rateLimit ? { rateLimitPerMinute: opts.rateLimit } : {}),
        })
        if (opts.save) await saveCreatedKey(key)
        if (opts.json) {
          console.log(JSON.stringify(key, null, 2))
          return
        }
        console.log(`created ${key.id} "${key.name}" scopes=${key.scopes.join(',')} rate limit=${key.rate_limit_per_minute ?? 'none'}/min`)
        console.log(`\n  ${key.secret}\n`)
        console.log('This secret is shown once; only its sha256 is stored. Send it as `Authorization: Bearer <secret>`.')
        console.log(
          `\nCallback signing secret (verifies the Genimage-Signature of this key's async-detect callbacks; also shown once):\n\n  ${key.callback_secret}\n`,
        )
        console.log('Edges with REQUIRE_API_KEY=auto (the default) require a key from now on, even after every key is revoked.')
      } finally {
        db.$client.close()
      }
    })

  keys
    .command('list')
    .description('list keys (never their secrets)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const db = await openDb()
      try {
        const all = await (await dbModule()).listApiKeys(db)
        if (opts.json) {
          console.log(JSON.stringify(all, null, 2))
          return
        }
        if (all.length === 0) console.log('no API keys; create one with `npx genimage keys create --name <name> --scopes detect`')
        for (const k of all) {
          const state = k.revoked_at ? `revoked ${k.revoked_at}` : 'active'
          console.log(`${k.id}  ${k.prefix}…  ${k.name}  scopes=${k.scopes.join(',')}  limit=${k.rate_limit_per_minute ?? 'none'}/min  ${state}`)
        }
      } finally {
        db.$client.close()
      }
    })

  keys
    .command('revoke <id>')
    .description('revoke a key; edges refuse it from their next request')
    .action(async (id: string) => {
      const db = await openDb()
      try {
        const key = await (await dbModule()).revokeApiKey(db, id)
        if (!key) {
          console.error(`no key with id ${id} (see \`npx genimage keys list\`)`)
          exitWith(EXIT.failed)
          return
        }
        console.log(`revoked ${key.id} "${key.name}" at ${key.revoked_at}`)
      } finally {
        db.$client.close()
      }
    })
}
