#!/usr/bin/env node
// The CLI is TypeScript source like every package here; tsx compiles it on load.
import { register } from 'tsx/esm/api'

register()
await import('../src/main.ts')
