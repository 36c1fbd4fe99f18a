import { spawnSync } from 'node:child_process'
import { join, resolve } from 'node:path'
import { Command } from 'commander'
import { describe, expect, it } from 'vitest'
import {
  commaList,
  decimal,
  fraction,
  integer,
  jpegQuality,
  listOf,
  nonNegativeInteger,
  numberTriple,
  OptionValueError,
  positiveInteger,
} from '../src/options.ts'

const repoRoot = resolve(import.meta.dirname, '../../..')
const bin = join(repoRoot, 'packages/cli/bin/genimage.js')
const genimage = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: repoRoot, encoding: 'utf8' })

describe('option parsers', () => {
  it('accept what their name says and refuse the rest with what a valid value is', () => {
    expect(positiveInteger('16')).toBe(16)
    for (const bad of ['0', '-1', '1.5', 'ten', '', ' ', '1e400']) expect(() => positiveInteger(bad)).toThrow('It must be a positive integer.')
    expect(nonNegativeInteger('0')).toBe(0)
    expect(() => nonNegativeInteger('-1')).toThrow('a non-negative integer')
    expect(jpegQuality('96')).toBe(96)
    expect(() => jpegQuality('101')).toThrow('an integer from 1 to 100')
    expect(integer()('-3')).toBe(-3)
    expect(decimal()('-0.5')).toBe(-0.5)
    expect(() => decimal()('NaN')).toThrow('a number')
    expect(fraction('0.875')).toBe(0.875)
    expect(() => fraction('1.5')).toThrow('a number from 0 to 1')
    expect(commaList(' SD V1.4 , ADM,,')).toEqual(['SD V1.4', 'ADM'])
    expect(() => commaList(' , ')).toThrow('a comma-separated list')
    expect(listOf(nonNegativeInteger)('0, 1,2')).toEqual([0, 1, 2])
    expect(() => listOf(nonNegativeInteger)('0,x')).toThrow('a comma-separated list of non-negative integers')
    expect(numberTriple('0.5,0.5,0.5')).toEqual([0.5, 0.5, 0.5])
    expect(() => numberTriple('0.5,0.5')).toThrow('three comma-separated numbers')
  })

  it('throw errors commander reports as invalid option values', async () => {
    const program = new Command()
      .exitOverride()
      .configureOutput({ writeErr: () => {} })
      .option('--epochs <n>', 'epochs', positiveInteger, 5)
    expect(program.parse([], { from: 'user' }).opts()).toEqual({ epochs: 5 })
    expect(() => program.parse(['--epochs', 'x'], { from: 'user' })).toThrow(
      expect.objectContaining({
        code: 'commander.invalidArgument',
        message: "error: option '--epochs <n>' argument 'x' is invalid. It must be a positive integer.",
      }),
    )
    expect(new OptionValueError('a number')).toMatchObject({ requirement: 'a number', code: 'commander.invalidArgument' })
  })
})

describe('genimage exit status', { timeout: 120_000 }, () => {
  it('documents the exit codes in --help and exits 0 after help', () => {
    const help = genimage('--help')
    expect(help.status).toBe(0)
    expect(help.stdout).toMatch(/Exit status:\n {2}0 +success\n {2}1 +failure.*\n {2}2 +usage error.*\n {2}130 +interrupted/)
  })

  it('exits 2 for a bad option value and for an unknown option, 1 when the work itself fails', () => {
    const badValue = genimage('models', 'handmade', '--size', 'big')
    expect(badValue.status).toBe(2)
    expect(badValue.stderr).toContain("error: option '--size <pixels>' argument 'big' is invalid. It must be a positive integer.")
    const unknown = genimage('models', 'list', '--colour')
    expect(unknown.status).toBe(2)
    expect(unknown.stderr).toContain("error: unknown option '--colour'")
    const failed = genimage('experiment', 'list', '--api', 'http://127.0.0.1:9')
    expect(failed.status).toBe(1)
    expect(failed.stderr).toMatch(/^genimage: cannot reach the edge API at http:\/\/127\.0\.0\.1:9/m)
  })
})
