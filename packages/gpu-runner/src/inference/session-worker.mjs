// Worker thread that owns one onnxruntime session. onnxruntime-node's `session.run` executes synchronously on
// the calling thread, so running it here keeps the runner's event loop free to accept requests, finish image
// decodes and build the next batch while this batch computes. Plain JavaScript: worker threads do not
// inherit the tsx loader. Protocol (parentPort messages):
//   in:  { type: 'run', id, input, output, dims, data: Float32Array }
//   out: { id, data: Float32Array, input: Float32Array } | { id, error }
// The batch's input goes back (transferred, not copied) with the answer, for the next batch to reuse.
import { readFile } from 'node:fs/promises'
import { parentPort, workerData } from 'node:worker_threads'
import * as ort from 'onnxruntime-node'

// workerData: { modelPath, options }, where `options` are the main thread's `sessionOptions(provider, tuning)`.
const { modelPath, options } = workerData
const session = await ort.InferenceSession.create(await readFile(modelPath), options)
parentPort.postMessage({ type: 'ready', inputs: session.inputNames, outputs: session.outputNames })

parentPort.on('message', async (message) => {
  if (message.type !== 'run') return
  try {
    const feeds = { [message.input]: new ort.Tensor('float32', message.data, message.dims) }
    const outputs = await session.run(feeds)
    const result = outputs[message.output]
    if (!result) throw new Error(`model produced no ${message.output} output`)
    const data = Float32Array.from(result.data)
    parentPort.postMessage({ id: message.id, data, input: message.data }, [data.buffer, message.data.buffer])
  } catch (error) {
    parentPort.postMessage({ id: message.id, error: error instanceof Error ? error.message : String(error) })
  }
})
