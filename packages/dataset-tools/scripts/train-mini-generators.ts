/**
 * Reproduces the generator weights shipped in `packages/dataset-tools/generators/`: trains the autoencoder and every
 * trained family with the default plans (seed 1, 128 px, the shipped photos' train split) and copies the weights
 * there. Run: `nice -n 10 npm run train-mini-generators -w @genimage/dataset-tools` (about 10 minutes on one core).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { buildMini } from '../src/index.ts'
import { shipNetworks } from '../src/mini/network-cache.ts'

const out = await mkdtemp(path.join(tmpdir(), 'genimage-mini-generators-'))
try {
  let last = ''
  const result = await buildMini(out, {
    perClassTrain: 1,
    perClassVal: 1,
    retrainGenerators: true,
    onProgress: (event) => {
      const line = `${event.phase} ${event.generator ?? ''}`
      if ((event.phase === 'training' || event.phase === 'autoencoder') && (event.done % 50 === 0 || line !== last))
        console.log(`${line} ${event.done}/${event.total}`)
      last = line
    },
  })
  for (const family of ['autoencoder', 'latent-diffusion', 'pixel-diffusion', 'gan']) console.log(`shipped ${await shipNetworks(out, family)}`)
  console.log(
    JSON.stringify(
      { autoencoder: result.manifest?.autoencoder?.trainSeconds, networks: result.manifest?.networks, timings: result.manifest?.timings },
      null,
      2,
    ),
  )
} finally {
  await rm(out, { recursive: true, force: true })
}
