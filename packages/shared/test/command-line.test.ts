import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { commandLine, shellQuote, trainCommandLine } from '../src/command-line.ts'

/** The words a POSIX shell splits `line` into. */
const wordsOf = (line: string) =>
  execFileSync('sh', ['-c', `for word in ${line}; do printf '%s\\0' "$word"; done`], { encoding: 'utf8' })
    .split('\0')
    .slice(0, -1)

describe('commandLine', () => {
  it('leaves plain words bare and quotes the rest, so the shell gives back exactly the words', () => {
    const words = ['npx', 'genimage', '--data', '/data/GenImage', 'SD V1.4,ADM', "it's", '$HOME', '`id`', 'a;b', '', '~', '*.png', 'x\ny', '"q"', '\\']
    const line = commandLine(words)
    expect(line.startsWith('npx genimage --data /data/GenImage ')).toBe(true)
    expect(shellQuote("it's")).toBe(`'it'\\''s'`)
    expect(wordsOf(line)).toEqual(words)
  })
})

describe('trainCommandLine', () => {
  it('writes every setting that decides the result, flags in a fixed order', () => {
    const line = trainCommandLine({
      model: 'npr-tiny',
      data: '/data/my GenImage',
      trainOn: ['SD V1.4', 'ADM'],
      valOn: ['ADM'],
      manifest: true,
      task: 'binary',
      epochs: 5,
      batchSize: 16,
      seed: 0,
      optimizer: 'adamw',
      learningRate: 0.0003,
      weightDecay: 0.05,
      earlyStop: 2,
      limitPerClass: 100,
      jpegAlign: 96,
      out: 'models/npr',
    })
    expect(line).toBe(
      "npx genimage train --model npr-tiny --data '/data/my GenImage' --train-on 'SD V1.4,ADM' --val-on ADM --manifest --task binary " +
        '--epochs 5 --batch-size 16 --seed 0 --optimizer adamw --lr 0.0003 --weight-decay 0.05 --early-stop 2 --limit-per-class 100 --jpeg-align 96 --out models/npr',
    )
  })

  it('leaves out what was not set, and quotes a manifest URL', () => {
    expect(trainCommandLine({ model: 'npr-tiny', data: 'mini', trainOn: ['Bicubic'], epochs: 3, batchSize: 8, seed: 1, manifest: 'file:/m.db?x=1&y' })).toBe(
      "npx genimage train --model npr-tiny --data mini --train-on Bicubic --manifest 'file:/m.db?x=1&y' --epochs 3 --batch-size 8 --seed 1",
    )
  })
})
