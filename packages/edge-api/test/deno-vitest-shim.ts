// Under Deno, `vitest` resolves here (see deno.json): the same test files run on Deno.test with node:assert.
import assert from 'node:assert/strict'

declare const Deno: { test(name: string, fn: () => Promise<void> | void): void }

type Fn = () => unknown | Promise<unknown>
const prefixes: string[] = []
const hooks = { beforeAll: [] as Fn[], afterAll: [] as Fn[] }
let beforeAllDone = false

export function describe(name: string, body: () => void): void {
  prefixes.push(name)
  body()
  prefixes.pop()
}

export function it(name: string, fn: Fn): void {
  const full = [...prefixes, name].join(' › ')
  Deno.test(full, async () => {
    if (!beforeAllDone) {
      beforeAllDone = true
      for (const hook of hooks.beforeAll) await hook()
    }
    await fn()
  })
}
export const test = it

export function beforeAll(fn: Fn): void {
  hooks.beforeAll.push(fn)
}
export function afterAll(fn: Fn): void {
  hooks.afterAll.push(fn)
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
    toBeDefined: () => check(actual !== undefined, 'expected a defined value'),
    toBeTruthy: () => check(Boolean(actual), `expected ${show(actual)} to be truthy`),
    toMatch: (re: RegExp | string) => check(new RegExp(re).test(String(actual)), `expected ${show(actual)} to match ${re}`),
    toContain: (e: unknown) => check((actual as unknown[] | string).includes(e as never), `expected ${show(actual)} to contain ${show(e)}`),
  }
}

export function expect(actual: unknown) {
  return Object.assign(matchers(actual, false), { not: matchers(actual, true) })
}
