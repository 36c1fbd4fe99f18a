import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { EdgeConfig, edgeEnvironment, inflightByteBudget } from '@genimage/edge-api'
import { parseAllDocuments } from 'yaml'
import { repoRoot } from '../support/processes.ts'

const infra = join(repoRoot, 'infra')
const read = (path: string) => readFileSync(join(infra, path), 'utf8')

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML documents are walked by key without a schema
type Doc = Record<string, any>
function docs(path: string): Doc[] {
  return parseAllDocuments(read(path), { merge: true }).map((d) => {
    if (d.errors.length > 0) throw new Error(`${path}: ${d.errors[0]?.message}`)
    return d.toJS() as Doc
  })
}
const k8s = readdirSync(join(infra, 'k8s')).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
const all = k8s.flatMap((f) => docs(`k8s/${f}`).map((d) => ({ file: f, doc: d })))
const find = (kind: string, name: string) => all.find((d) => d.doc.kind === kind && d.doc.metadata?.name === name)?.doc as Doc

/** Environment variables the runner reads (keys of RunnerEnv in its config.ts) plus ones Node/libuv read. */
const runnerEnvNames = new Set([
  ...[...readFileSync(join(repoRoot, 'packages/gpu-runner/src/config.ts'), 'utf8').matchAll(/^\s+([A-Z][A-Z0-9_]+): /gm)].map((m) => m[1] as string),
  'UV_THREADPOOL_SIZE',
  'NODE_ENV',
  'NVIDIA_DRIVER_CAPABILITIES',
  'POD_NAME',
  'POD_IP',
])
/** A Kubernetes memory quantity (`1Gi`, `768Mi`, `512M`, plain bytes) in bytes. */
function kubernetesBytes(quantity: string | number): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(quantity))
  if (!match) throw new Error(`not a memory quantity: ${quantity}`)
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[match[2] ?? ''] ?? 1
  return Number(match[1]) * unit
}

const exportedMetrics = new Set(
  [...readFileSync(join(repoRoot, 'packages/gpu-runner/src/server/metrics.ts'), 'utf8').matchAll(/'(genimage_runner_[a-z_]+)'/g)].map((m) => m[1]),
)

describe('infra manifests (validated offline: parsed and cross-checked, not applied to a cluster)', () => {
  it('every Kubernetes document parses and names its apiVersion, kind and metadata.name', () => {
    expect(k8s.length).toBeGreaterThanOrEqual(6)
    for (const { file, doc } of all) {
      expect({ file, apiVersion: typeof doc.apiVersion, kind: typeof doc.kind, name: typeof doc.metadata?.name }).toEqual({
        file,
        apiVersion: 'string',
        kind: 'string',
        name: 'string',
      })
    }
    const kustomization = docs('k8s/kustomization.yaml')[0] as Doc
    for (const resource of kustomization.resources as string[]) expect(existsSync(join(infra, 'k8s', resource))).toBe(true)
  })

  it('the GPU runner Deployment asks for a GPU, probes OIP health, drains within its grace period and sets only env the runner reads', () => {
    const deployment = find('Deployment', 'genimage-runner-gpu')
    const pod = deployment.spec.template.spec
    const runner = pod.containers[0]
    expect(runner.resources.limits['nvidia.com/gpu']).toBeGreaterThanOrEqual(1)
    expect(runner.readinessProbe.httpGet.path).toBe('/v2/health/ready')
    expect(runner.livenessProbe.httpGet.path).toBe('/v2/health/live')
    const env = Object.fromEntries((runner.env as Doc[]).map((e) => [e.name, e.value]))
    expect(Object.keys(env).filter((name) => !runnerEnvNames.has(name))).toEqual([])
    expect(env.EXECUTION_PROVIDERS?.split(',')[0]).toBe('webgpu')
    // the NVIDIA container runtime mounts the driver's Vulkan ICD only with the `graphics` capability
    expect(env.NVIDIA_DRIVER_CAPABILITIES?.split(',')).toContain('graphics')
    const port = runner.ports.find((p: Doc) => p.name === runner.readinessProbe.httpGet.port)
    expect(String(port.containerPort)).toBe(env.RUNNER_PORT)
    const preStop = runner.lifecycle?.preStop?.sleep?.seconds ?? 0
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(Number(env.DRAIN_TIMEOUT_MS) + preStop * 1000)
    expect(deployment.spec.selector.matchLabels).toEqual(
      Object.fromEntries(Object.keys(deployment.spec.selector.matchLabels).map((k) => [k, deployment.spec.template.metadata.labels[k]])),
    )
  })

  it('the edge Deployment sets a memory budget that fits its container limit and holds at least one largest request', () => {
    const edge = find('Deployment', 'genimage-edge').spec.template.spec.containers[0]
    const env = Object.fromEntries((edge.env as Doc[]).filter((e) => 'value' in e).map((e) => [e.name, e.value as string]))
    const settings = edgeEnvironment(env)
    const limitBytes = kubernetesBytes(edge.resources.limits.memory)
    const budget = settings.config.memoryBudgetBytes
    // The budget must be set explicitly (not the default) and leave a fifth of the limit for what it does not count.
    expect(env.EDGE_MEMORY_BUDGET_BYTES).toBeDefined()
    expect(budget).toBeLessThanOrEqual(limitBytes * 0.8)
    expect(inflightByteBudget(budget)).toBeGreaterThanOrEqual(settings.config.maxRequestBytes)
    expect(EdgeConfig.safeParse({ memoryBudgetBytes: 300 * 2 ** 20 }).success).toBe(false)
  })

  it('the runner Service selects the runner pods on the OIP port', () => {
    const service = find('Service', 'genimage-runner')
    const labels = find('Deployment', 'genimage-runner-gpu').spec.template.metadata.labels
    for (const [k, v] of Object.entries(service.spec.selector)) expect(labels[k]).toBe(v)
    expect(service.spec.ports[0].targetPort).toBe('oip-http')
  })

  it('a NetworkPolicy lets only the edge (and Prometheus, for /metrics) reach the runner pods, on the OIP port', () => {
    const policy = find('NetworkPolicy', 'genimage-runner-ingress')
    const runnerDeployment = find('Deployment', 'genimage-runner-gpu')
    const runnerLabels = runnerDeployment.spec.template.metadata.labels
    const edgeLabels = find('Deployment', 'genimage-edge').spec.template.metadata.labels
    expect(policy.metadata.namespace).toBe(runnerDeployment.metadata.namespace)
    expect(policy.spec.policyTypes).toEqual(['Ingress'])
    const selector = Object.entries(policy.spec.podSelector.matchLabels as Record<string, string>)
    expect(selector.length).toBeGreaterThan(0)
    for (const [k, v] of selector) expect({ k, v: runnerLabels[k] }).toEqual({ k, v })
    // The selector must not also pick the edge pods (a policy on them would cut their clients off).
    expect(selector.every(([k, v]) => edgeLabels[k] === v)).toBe(false)
    const runnerPorts = (runnerDeployment.spec.template.spec.containers[0].ports as Doc[]).map((p) => p.name)
    const rules = policy.spec.ingress as Doc[]
    for (const rule of rules) {
      expect(rule.ports.map((p: Doc) => p.port).every((port: string) => runnerPorts.includes(port))).toBe(true)
      expect(rule.from.every((peer: Doc) => !('ipBlock' in peer) && peer.podSelector)).toBe(true)
    }
    const samePodsAsEdge = rules.flatMap((r) => r.from as Doc[]).filter((peer) => !peer.namespaceSelector)
    expect(samePodsAsEdge).toHaveLength(1)
    for (const [k, v] of Object.entries(samePodsAsEdge[0]?.podSelector.matchLabels as Record<string, string>)) expect(edgeLabels[k]).toBe(v)
    const otherNamespaces = rules.flatMap((r) => r.from as Doc[]).filter((peer) => peer.namespaceSelector)
    expect(otherNamespaces.map((peer) => peer.podSelector.matchLabels['app.kubernetes.io/name'])).toEqual(['prometheus'])
    const kustomization = docs('k8s/kustomization.yaml')[0] as Doc
    expect(kustomization.resources).toContain('runner-network-policy.yaml')
  })

  it('the runner token comes from one Secret on both sides, under the name the runner and the edge read', () => {
    const runner = find('Deployment', 'genimage-runner-gpu').spec.template.spec.containers[0]
    const edge = find('Deployment', 'genimage-edge').spec.template.spec.containers[0]
    const tokenRef = (container: Doc) => (container.env as Doc[]).find((e) => e.name === 'RUNNER_TOKEN')?.valueFrom?.secretKeyRef
    expect(runnerEnvNames).toContain('RUNNER_TOKEN')
    expect(readFileSync(join(repoRoot, 'packages/edge-api/src/config.ts'), 'utf8')).toMatch(/^\s+RUNNER_TOKEN: z\./m)
    expect(tokenRef(runner)).toEqual({ name: 'genimage-runner-token', key: 'token' })
    expect(tokenRef(edge)).toEqual(tokenRef(runner))
    expect((runner.env as Doc[]).find((e) => e.name === 'RUNNER_TOKEN')).not.toHaveProperty('value')
    // Only /metrics is left open, for the annotation-based scrape the runner pods declare.
    const metricsOpen = (runner.env as Doc[]).find((e) => e.name === 'RUNNER_METRICS_WITHOUT_TOKEN')?.value
    expect(metricsOpen === 'true').toBe(find('Deployment', 'genimage-runner-gpu').spec.template.metadata.annotations['prometheus.io/scrape'] === 'true')
  })

  it('autoscaling targets the runner Deployment on a queue-depth metric the runner really exports', () => {
    const keda = find('ScaledObject', 'genimage-runner-gpu')
    expect(keda.spec.scaleTargetRef.name).toBe('genimage-runner-gpu')
    const query = keda.spec.triggers[0].metadata.query as string
    const metric = /genimage_runner_[a-z_]+/.exec(query)?.[0]
    expect(exportedMetrics).toContain(metric)
    expect(metric).toBe('genimage_runner_queue_depth')
    const hpa = docs('k8s/runner-hpa.yaml')[0] as Doc
    expect(hpa.spec.scaleTargetRef.name).toBe('genimage-runner-gpu')
    expect(exportedMetrics).toContain(hpa.spec.metrics[0].pods.metric.name)
  })

  it('sqld runs as a StatefulSet with a persistent volume behind the Service the runners and edge use', () => {
    const sqld = find('StatefulSet', 'sqld')
    expect(sqld.spec.volumeClaimTemplates[0].metadata.name).toBe(sqld.spec.template.spec.containers[0].volumeMounts[0].name)
    expect(find('Service', sqld.spec.serviceName).spec.clusterIP).toBe('None')
    const url = new URL(find('Deployment', 'genimage-runner-gpu').spec.template.spec.containers[0].env.find((e: Doc) => e.name === 'DATABASE_URL').value)
    expect(url.hostname.split('.')[0]).toBe('sqld')
    expect(find('Service', 'sqld').spec.ports.map((p: Doc) => String(p.port))).toContain(url.port)
  })

  it('the compose stack wires two runners and the edge to each other and to sqld, with the runner token', () => {
    const compose = docs('compose.yaml')[0] as Doc
    const services = compose.services as Record<string, Doc>
    const runners = Object.keys(services).filter((s) => s.startsWith('runner-'))
    expect(runners.length).toBeGreaterThanOrEqual(2)
    for (const r of runners) {
      expect(Object.keys(services[r]?.environment ?? {}).filter((name) => !runnerEnvNames.has(name))).toEqual([])
      expect(existsSync(join(infra, '..', services[r]?.build.dockerfile))).toBe(true)
    }
    const edgeRunners = (services.edge!.environment.RUNNER_URLS as string).split(',').map((u) => new URL(u).hostname)
    expect(edgeRunners.sort()).toEqual(runners.sort())
    expect(new URL(services.edge?.environment.DATABASE_URL).hostname).toBe('sqld')
    // Runners and the edge read the same RUNNER_TOKEN, which `compose up` refuses to run without; no runner port is published.
    const tokens = [...runners, 'edge'].map((name) => services[name]?.environment.RUNNER_TOKEN as string)
    expect(new Set(tokens).size).toBe(1)
    expect(tokens[0]).toMatch(/^\$\{RUNNER_TOKEN:\?.+\}$/)
    for (const r of runners) expect(services[r]?.ports).toBeUndefined()
  })

  it('the GPU image runs WebGPU from npm packages on the Vulkan loader; CUDA is the optional variant; the CPU image has neither', () => {
    const gpu = read('runner-gpu.Containerfile')
    const cuda = read('runner-cuda.Containerfile')
    const cpu = read('runner-cpu.Containerfile')
    expect(gpu).toMatch(/apt-get install[^\n]* libvulkan1/)
    expect(gpu).toMatch(/NVIDIA_DRIVER_CAPABILITIES=\S*graphics/)
    expect(gpu).toMatch(/EXECUTION_PROVIDERS=webgpu,cpu/)
    const instructions = (file: string) => file.replace(/^#.*$/gm, '')
    expect(instructions(gpu)).not.toMatch(/cuda|tfjs-node/i)
    const declared = JSON.parse(readFileSync(join(repoRoot, 'packages/training/package.json'), 'utf8')).dependencies
    expect(Object.keys(declared)).toEqual(expect.arrayContaining(['webgpu', '@tensorflow/tfjs-backend-webgpu']))
    expect(cuda).toMatch(/^FROM \S*nvidia\/cuda:12\.\S*cudnn/m)
    expect(cuda).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules\/onnxruntime-node\/script\/install\.js/)
    expect(existsSync(join(repoRoot, 'node_modules/onnxruntime-node/script/install.js'))).toBe(true)
    const metadata = readFileSync(join(repoRoot, 'node_modules/onnxruntime-node/script/install-metadata.js'), 'utf8')
    expect(metadata).toContain("'linux/x64': ['cuda12']")
    const tfjs = JSON.parse(readFileSync(join(repoRoot, 'node_modules/@tensorflow/tfjs/package.json'), 'utf8')).version
    expect(cuda).toContain(`ARG TFJS_VERSION=${tfjs}`)
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the Containerfile's own build-arg reference
    expect(cuda).toContain('@tensorflow/tfjs-node-gpu@${TFJS_VERSION}')
    expect(instructions(cpu)).not.toMatch(/tfjs-node|cuda|vulkan/i)
    for (const file of [gpu, cuda, cpu]) {
      expect(file).toMatch(/CMD \["node", "packages\/cli\/bin\/genimage\.js", "runner"\]/)
      expect(file).toMatch(/libjpeg\S*-dev libdeflate-dev/)
    }
    expect(existsSync(join(repoRoot, 'packages/cli/bin/genimage.js'))).toBe(true)
  })

  it('the Workers and Deno Deploy configs point at the bundles the edge build writes', () => {
    const wrangler = JSON.parse(read('edge/wrangler.jsonc').replace(/^\s*\/\/.*$/gm, ''))
    const deno = JSON.parse(read('edge/deno-deploy.json'))
    const build = readFileSync(join(repoRoot, 'packages/edge-api/scripts/build-bundles.ts'), 'utf8')
    for (const entry of [wrangler.main as string, deno.deploy.entrypoint as string]) {
      expect(entry.startsWith('../../packages/edge-api/dist/')).toBe(true)
      expect(build).toContain(entry.split('/').pop())
    }
    expect(wrangler.compatibility_date).toMatch(/^\d{4}-\d{2}-\d{2}$/)
  })

  it('the Triton example repository exposes the runner contract: image_bytes BYTES in, probabilities FP32 out', () => {
    const ensemble = read('triton/model_repository/npr-residual-handmade/config.pbtxt')
    expect(ensemble).toMatch(/input \[ \{ name: "image_bytes", data_type: TYPE_STRING, dims: \[ -1 \] \} \]/)
    expect(ensemble).toMatch(/output \[ \{ name: "probabilities", data_type: TYPE_FP32/)
    for (const step of [...ensemble.matchAll(/model_name: "([^"]+)"/g)].map((m) => m[1])) {
      expect(existsSync(join(infra, 'triton/model_repository', step as string, 'config.pbtxt'))).toBe(true)
    }
  })
})
