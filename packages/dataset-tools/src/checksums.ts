import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { DatasetError } from './errors.ts'

export type HashAlgorithm = 'md5' | 'sha256'

const HEX_LENGTH: Record<HashAlgorithm, number> = { md5: 32, sha256: 64 }

/**
 * Reads a checksum list in `md5sum`/`sha256sum` format (`<hex>  <path>` or `<hex> *<path>`), paths relative to the root.
 * Fails with `bad_checksum_list` naming the first malformed line.
 */
export async function readChecksumList(path: string, algorithm: HashAlgorithm): Promise<Map<string, string>> {
  const text = await readFile(path, 'utf8').catch((error: unknown) => {
    throw new DatasetError('bad_checksum_list', `cannot read ${algorithm} list ${path}: ${(error as Error).message}`)
  })
  const sums = new Map<string, string>()
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trimEnd()
    if (!line || line.startsWith('#')) continue
    const match = /^([0-9a-fA-F]+) [ *](.+)$/.exec(line)
    if (!match || match[1]!.length !== HEX_LENGTH[algorithm]) {
      throw new DatasetError('bad_checksum_list', `${path}:${i + 1}: expected "<${algorithm} hex>  <path>", got: ${line.slice(0, 80)}`)
    }
    sums.set(match[2]!.replace(/^\.\//, ''), match[1]!.toLowerCase())
  }
  return sums
}

/** Hex digest of `bytes`. */
export function digest(algorithm: HashAlgorithm, bytes: Uint8Array): string {
  return createHash(algorithm).update(bytes).digest('hex')
}
