// Under Deno, `vitest` resolves here (see deno.json): the same test files run on Deno.test with node:assert.
import assert from 'node:assert/strict'

declare const Deno: {
  test(options: { name: string; fn: () => Promise<void> | void; sanitizeOps?: boolean; sanitizeResources?: boolean }): void
}

type Fn = () => unknown | Promise<unknown>

/**
 * Hooks and the tests registered after them form a group (in practice: one test file). A group's beforeAll
 * hooks run before its first test and its afterAll hooks after its last; tests in a group with hooks skip
 * Deno's per-test leak sanitizers, since a server opened in beforeAll legitimately outlives one test.
 */
interface Group {
  beforeAll: Fn[]
  afterAll: Fn[]
  beforeEach: Fn[]
  afterEach: Fn[]
  tests: number
  done: number
  started: boolean
}
const prefixes: string[] = []
const newGroup = (): Group => ({ beforeAll: [], afterAll: [], beforeEach: [], afterEach: [], tests: 0, done: 0, started: false })
let group = newGroup()
const groupForHook = () => {
  if (group.tests > 0) group = newGroup()
  return group
}

export function describe(name: string, body: () => void): void {
  prefixes.push(name)
  body()
  prefixes.pop()
}

export function it(name: string, fn: Fn): void {
  const mine = group
  mine.tests += 1
  const hooked = mine.beforeAll.length + mine.afterAll.length + mine.beforeEach.length + mine.afterEach.length > 0
  Deno.test({
    name: [...prefixes, name].join(' › '),
    sanitizeOps: !hooked,
    sanitizeResources: !hooked,
    fn: async () => {
      if (!mine.started) {
        mine.started = true
        for (const hook of mine.beforeAll) await hook()
      }
      try {
        for (const hook of mine.beforeEach) await hook()
        try {
          await fn()
        } finally {
          for (const hook of mine.afterEach) await hook()
        }
      } finally {
        mine.done += 1
        if (mine.done === mine.tests) for (const hook of mine.afterAll) await hook()
      }
    },
  })
}
export const test = it

export function beforeAll(fn: Fn): void {
  groupForHook().beforeAll.push(fn)
}
export function afterAll(fn: Fn): void {
  groupForHook().afterAll.push(fn)
}
export function beforeEach(fn: Fn): void {
  groupForHook().beforeEach.push(fn)
}
export function afterEach(fn: Fn): void {
  groupForHook().afterEach.push(fn)
}

function matchObject(actual: unknown, expected: unknown): boolean {
  if (expected === null || typeof expected !== 'object') return Object.is(actual, expected)
  if (actual === null || typeof actual !== 'object') return false
  return Object.entries(expected).every(([k, v]) => matchObject((actual as Record<string, unknown>)[k], v))
}

function matchers(actual: unknown, negate: boolean) {
  const check = (pass: boolean, message: string) => {
    if (pass === negate) throw new assert.AssertionError({ message: `${negate ? 'not ' : ''}${message}`, actual })
  }
  const show = (v: unknown) => JSON.stringify(v)
  return {
    toBe: (e: unknown) => check(Object.is(actual, e), `expected ${show(actual)} to be ${show(e)}`),
    toEqual: (e: unknown) => {
      let equal = true
      try {
        assert.deepStrictEqual(JSON.parse(JSON.stringify(actual ?? null)), JSON.parse(JSON.stringify(e ?? null)))
      } catch {
        equal = false
      }
      check(equal, `expected ${show(actual)} to equal ${show(e)}`)
    },
    toMatchObject: (e: unknown) => check(matchObject(actual, e), `expected ${show(actual)} to match ${show(e)}`),
    toHaveLength: (n: number) => check((actual as { length: number }).length === n, `expected length ${n}, got ${(actual as { length: number }).length}`),
    toBeCloseTo: (e: number, digits = 2) => check(Math.abs((actual as number) - e) < 10 ** -digits / 2, `expected ${actual} to be close to ${e}`),
    toBeLessThan: (e: number) => check((actual as number) < e, `expected ${actual} < ${e}`),
    toBeLessThanOrEqual: (e: number) => check((actual as number) <= e, `expected ${actual} <= ${e}`),
    toBeGreaterThan: (e: number) => check((actual as number) > e, `expected ${actual} > ${e}`),
    toBeGreaterThanOrEqual: (e: number) => check((actual as number) >= e, `expected ${actual} >= ${e}`),
    toBeUndefined: () => check(actual === undefined, `expected ${show(actual)} to be undefined`),
    toBeNull: () => check(actual === null, `expected ${show(actual)} to be null`),
    toBeDefined: () => check(actual !== undefined, 'expected a defined value'),
    toBeTruthy: () => check(Boolean(actual), `expected ${show(actual)} to be truthy`),
    toMatch: (re: RegExp | string) => check(new RegExp(re).test(String(actual)), `expected ${show(actual)} to match ${re}`),
    toContain: (e: unknown) => check((actual as unknown[] | string).includes(e as never), `expected ${show(actual)} to contain ${show(e)}`),
  }
}

function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  return undefined
}

function throwMatchers(error: unknown, threw: boolean, negate: boolean) {
  return (expected?: RegExp | string) => {
    const message = error instanceof Error ? error.message : String(error)
    const pass = threw && (expected === undefined || (typeof expected === 'string' ? message.includes(expected) : expected.test(message)))
    if (pass === negate)
      throw new assert.AssertionError({ message: `expected ${negate ? 'no ' : ''}throw matching ${expected}, got ${threw ? message : 'no throw'}` })
  }
}

export function expect(actual: unknown) {
  const sync = (negate: boolean) => {
    const toThrow = (expected?: RegExp | string) => {
      const error = thrown(actual as () => unknown)
      throwMatchers(error, error !== undefined, negate)(expected)
    }
    return { ...matchers(actual, negate), toThrow }
  }
  const rejects = {
    toThrow: async (expected?: RegExp | string) => {
      let error: unknown
      let threw = false
      try {
        await (actual as Promise<unknown>)
      } catch (e) {
        error = e
        threw = true
      }
      throwMatchers(error, threw, false)(expected)
    },
  }
  return Object.assign(sync(false), { not: sync(true), rejects })
}
