// Benchmark: ONNX ModelProto encoding, the hand-written writer (packages/shared/src/onnx/messages.ts + protobuf.ts)
// vs `onnx-proto` (protobufjs static code) and `@bufbuild/protobuf` (code generated from onnx.proto by
// protoc-gen-es), each fed the same ModelMessage from OnnxGraphBuilder: encode time, bytes, whether the three
// encodings decode to the same message and score the same in onnxruntime, and the gzipped size of each encoder
// bundled for the edge.
// The two peers are not project dependencies; install them in a scratch folder first:
//   mkdir -p /tmp/libtrial/proto && cd /tmp/libtrial && npm init -y && \
//     npm install onnx-proto @bufbuild/protobuf @bufbuild/protoc-gen-es @bufbuild/buf
//   cp <a checkout of github.com/onnx/onnx>/onnx/onnx.proto /tmp/libtrial/proto/   (this script then runs `buf generate`)
// Usage: npx tsx bench/lib-onnx-protobuf.ts [scratch=/tmp/libtrial]
// biome-ignore-all lint/suspicious/noExplicitAny: the peer libraries load at run time from a scratch folder, without types
import { existsSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import * as ort from 'onnxruntime-node'
import { OnnxGraphBuilder, toInt64Array } from '@genimage/shared/onnx'
import { encodeModel, type ModelMessage, type TensorMessage } from '@genimage/shared/onnx'
import { execFileSync } from 'node:child_process'
import { microsPerCall, ratioRow } from './lib-bench-util.ts'

const scratch = process.argv[2] ?? '/tmp/libtrial'
const generated = join(scratch, 'gen/onnx_pb.ts')
if (!existsSync(generated)) {
  writeFileSync(
    join(scratch, 'buf.gen.yaml'),
    'version: v2\ninputs:\n  - directory: proto\nplugins:\n  - local: protoc-gen-es\n    out: gen\n    opt: target=ts\n',
  )
  execFileSync(join(scratch, 'node_modules/.bin/buf'), ['generate'], {
    cwd: scratch,
    env: { ...process.env, PATH: `${join(scratch, 'node_modules/.bin')}:${process.env.PATH}` },
  })
}
const scratchRequire = createRequire(join(scratch, 'package.json'))
const { onnx } = scratchRequire('onnx-proto') as { onnx: any }
const es = (await import(scratchRequire.resolve('@bufbuild/protobuf'))) as any
const { ModelProtoSchema } = (await import(generated)) as any

/** The ModelMessage that `builder.toBytes()` encodes (the same fields, read from the builder). */
function modelMessage(b: OnnxGraphBuilder): ModelMessage {
  const p = b as any
  return {
    irVersion: 8,
    opsetImports: [{ domain: '', version: b.opset }],
    producerName: 'genimage',
    producerVersion: '0.1.0',
    graph: { name: 'main', nodes: p.nodes, initializers: p.initializers, inputs: p.inputs, outputs: p.outputs },
  }
}

const rawData = (t: TensorMessage) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)
const TYPE = { float32: 1, int32: 6, int64: 7 } as const
const ATTRIBUTE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7, strings: 8 } as const
const utf8 = new TextEncoder()

/**
 * The same message as plain objects in a generated library's shape: `int64` turns a JS integer into the library's
 * int64, `oneof` writes one member of a oneof (protobufjs: a plain field; protobuf-es: `{ value: { case, value } }`).
 */
function libraryShape(m: ModelMessage, int64: (v: number | bigint) => unknown, oneof: (member: string, value: unknown) => object) {
  const tensor = (t: TensorMessage) => ({ dims: t.dims.map(int64), dataType: TYPE[t.dataType], name: t.name, rawData: rawData(t) })
  const valueInfo = (v: ModelMessage['graph']['inputs'][number]) => ({
    name: v.name,
    type: oneof('tensorType', {
      elemType: TYPE[v.dataType],
      ...(v.dims ? { shape: { dim: v.dims.map((d) => (typeof d === 'number' ? oneof('dimValue', int64(d)) : oneof('dimParam', d))) } } : {}),
    }),
  })
  const attribute = (a: ModelMessage['graph']['nodes'][number]['attributes'][number]) => {
    const value =
      a.type === 'float'
        ? { f: a.value }
        : a.type === 'int'
          ? { i: int64(a.value) }
          : a.type === 'string'
            ? { s: utf8.encode(a.value) }
            : a.type === 'tensor'
              ? { t: tensor(a.value) }
              : a.type === 'floats'
                ? { floats: Array.from(a.value) }
                : a.type === 'ints'
                  ? { ints: Array.from(a.value, int64) }
                  : { strings: a.value.map((s) => utf8.encode(s)) }
    return { name: a.name, ...value, type: ATTRIBUTE[a.type] }
  }
  return {
    irVersion: int64(m.irVersion),
    producerName: m.producerName,
    producerVersion: m.producerVersion,
    graph: {
      node: m.graph.nodes.map((n) => ({
        input: [...n.inputs],
        output: [...n.outputs],
        ...(n.name ? { name: n.name } : {}),
        opType: n.opType,
        attribute: n.attributes.map(attribute),
        ...(n.domain ? { domain: n.domain } : {}),
      })),
      name: m.graph.name,
      initializer: m.graph.initializers.map(tensor),
      input: m.graph.inputs.map(valueInfo),
      output: m.graph.outputs.map(valueInfo),
    },
    opsetImport: m.opsetImports.map((o) => ({ domain: o.domain, version: int64(o.version) })),
  }
}

const encoders = {
  'hand-written': (m: ModelMessage) => encodeModel(m),
  'onnx-proto': (m: ModelMessage) =>
    onnx.ModelProto.encode(
      libraryShape(
        m,
        (v) => (typeof v === 'bigint' ? v.toString() : v),
        (member, value) => ({ [member]: value }),
      ),
    ).finish() as Uint8Array,
  '@bufbuild': (m: ModelMessage) =>
    es.toBinary(
      ModelProtoSchema,
      es.create(
        ModelProtoSchema,
        libraryShape(m, BigInt, (member, value) => ({ value: { case: member, value } })),
      ),
    ) as Uint8Array,
}
type EncoderName = keyof typeof encoders

/** A small CNN (10 3×3 convolutions up to 512 channels, 4.7 M weights): one large initializer per layer. */
function convNet(): { b: OnnxGraphBuilder; feed: Record<string, ort.Tensor> } {
  const b = new OnnxGraphBuilder()
  let x = b.input('image', 'float32', ['N', 3, 32, 32])
  let channels = 3
  let seed = 1
  const nextWeight = () => {
    seed = (seed * 16807) % 2147483647
    return (seed / 2147483647 - 0.5) * 0.1
  }
  ;[32, 32, 64, 64, 128, 128, 256, 256, 512, 512].forEach((width, i) => {
    const weights = new Float32Array(width * channels * 9).map(nextWeight)
    const w = b.initializer(`conv${i}.weight`, weights, [width, channels, 3, 3])
    x = b.node('Relu', [b.node('Conv', [x, w], { pads: [1, 1, 1, 1], strides: i % 2 ? [2, 2] : [1, 1] })])
    channels = width
  })
  b.output(b.node('GlobalAveragePool', [x], {}, { output: 'features' }), 'float32', ['N', channels, 1, 1])
  const image = new Float32Array(2 * 3 * 32 * 32).map((_, i) => Math.sin(i))
  return { b, feed: { image: new ort.Tensor('float32', image, [2, 3, 32, 32]) } }
}

/** 3000 small nodes with float, int, ints and tensor attributes: the per-field cost, not the bytes. */
function manyNodes(): { b: OnnxGraphBuilder; feed: Record<string, ort.Tensor> } {
  const b = new OnnxGraphBuilder()
  let x = b.input('x', 'float32', [8, 8])
  for (let i = 0; i < 750; i++) {
    x = b.node('LeakyRelu', [x], { alpha: 0.01 + i / 1e5 })
    x = b.node('Transpose', [x], { perm: [1, 0] })
    x = b.node('Add', [
      x,
      b.node('Constant', [], { value: { type: 'tensor', value: { name: 'value', dataType: 'float32', dims: [1], data: new Float32Array([i / 1000]) } } }),
    ])
    x = b.node('Unsqueeze', [x, b.constInt64([0])])
    x = b.node('Squeeze', [x, b.initializer(`axes${i}`, toInt64Array([0]), [1])])
  }
  b.output(x, 'float32', [8, 8])
  const input = new Float32Array(64).map((_, i) => i / 64 - 0.5)
  return { b, feed: { x: new ort.Tensor('float32', input, [8, 8]) } }
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')
const decoded = (bytes: Uint8Array) => JSON.stringify(es.toJson(ModelProtoSchema, es.fromBinary(ModelProtoSchema, bytes)))

async function scores(bytes: Uint8Array, feed: Record<string, ort.Tensor>): Promise<string> {
  const session = await ort.InferenceSession.create(bytes)
  try {
    const out = await session.run(feed)
    return hex(new Uint8Array(Object.values(out)[0]!.data as Float32Array).slice())
  } finally {
    await session.release()
  }
}

console.log(`ONNX ModelProto encoding: hand-written writer vs onnx-proto (protobufjs) vs @bufbuild/protobuf (scratch: ${scratch})`)
for (const [name, make] of [
  ['conv net, 4.7 M weights', convNet],
  ['3000 small nodes', manyNodes],
] as const) {
  const { b, feed } = make()
  const message = modelMessage(b)
  const bytes = Object.fromEntries(Object.entries(encoders).map(([k, encode]) => [k, encode(message)])) as Record<EncoderName, Uint8Array>
  const ours = bytes['hand-written']
  console.log(`\n${name}: builder.toBytes() is the hand-written encoding: ${hex(b.toBytes()) === hex(ours) ? 'yes' : 'NO'}`)
  const calls = name.startsWith('conv') ? 30 : 100
  const ourMicros = await microsPerCall(() => encoders['hand-written'](message), calls)
  for (const peer of ['onnx-proto', '@bufbuild'] as const) {
    const same = hex(bytes[peer]) === hex(ours) ? 'identical bytes' : decoded(bytes[peer]) === decoded(ours) ? 'same message, other bytes' : 'DIFFERENT MESSAGE'
    const scored = (await scores(bytes[peer], feed)) === (await scores(ours, feed)) ? 'same scores' : 'DIFFERENT SCORES'
    console.log(`  ${peer}: ${same}, onnxruntime ${scored}`)
    console.log(
      `  ${ratioRow('encode (ms)', 'ms', ['hand-written', ourMicros / 1000], [peer, (await microsPerCall(() => encoders[peer](message), calls)) / 1000])}`,
    )
    console.log(`  ${ratioRow('model bytes', 'B', ['hand-written', ours.byteLength], [peer, bytes[peer].byteLength])}`)
  }
}

/** Minified, gzipped bytes of an ES module bundle (browser platform, as the edge bundles it). */
async function gzippedBundle(contents: string, resolveDir: string): Promise<number> {
  const result = await build({ stdin: { contents, resolveDir, loader: 'ts' }, bundle: true, minify: true, format: 'esm', platform: 'browser', write: false })
  return gzipSync(result.outputFiles[0]!.contents).byteLength
}
const repoOnnx = new URL('../packages/shared/src/onnx/', import.meta.url).pathname
const ourBundle = await gzippedBundle(`export { encodeModel } from '${repoOnnx}messages.ts'`, repoOnnx)
const builderBundle = await gzippedBundle(`export { OnnxGraphBuilder } from '${repoOnnx}index.ts'`, repoOnnx)
console.log(`\nedge bundle, encoder only (minified + gzip); the whole hand-written OnnxGraphBuilder is ${builderBundle} B`)
console.log(
  ratioRow(
    'onnx-proto (protobufjs runtime + static code)',
    'B',
    ['hand-written', ourBundle],
    ['onnx-proto', await gzippedBundle(`import { onnx } from 'onnx-proto'\nexport const encode = (m) => onnx.ModelProto.encode(m).finish()`, scratch)],
  ),
)
console.log(
  ratioRow(
    '@bufbuild (runtime + generated onnx_pb.ts)',
    'B',
    ['hand-written', ourBundle],
    [
      '@bufbuild',
      await gzippedBundle(
        `import { create, toBinary } from '@bufbuild/protobuf'\nimport { ModelProtoSchema } from './gen/onnx_pb.ts'\nexport const encode = (m) => toBinary(ModelProtoSchema, create(ModelProtoSchema, m))`,
        scratch,
      ),
    ],
  ),
)
