# workerd config for the edge bundle (build it first: npm run build:bundles -w @genimage/edge-api).
# Run: npx workerd serve packages/edge-api/workerd/edge.capnp
# DATABASE_URL must name a libSQL server over HTTP (sqld / Turso); RUNNER_URLS the runners' OIP v2 base URLs.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "edge", worker = .edgeWorker),
    # Runners and sqld usually sit on private addresses; allow them for the worker's outbound fetches.
    (name = "egress", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "edge") ],
);

const edgeWorker :Workerd.Worker = (
  modules = [ (name = "edge.js", esModule = embed "../dist/edge-workerd.js") ],
  compatibilityDate = "2025-09-01",
  compatibilityFlags = ["nodejs_compat"],
  bindings = [
    (name = "RUNNER_URLS", text = "http://127.0.0.1:8788"),
    (name = "DATABASE_URL", text = "http://127.0.0.1:8080"),
    (name = "RUNNER_REGISTRY", text = "true"),
  ],
  globalOutbound = "egress",
);
