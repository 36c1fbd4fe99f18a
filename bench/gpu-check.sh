#!/usr/bin/env bash
# GPU check (issue 13 item 5): WebGPU through the project's code (onnxruntime-node `webgpu`, tfjs `webgpu`, the
# /v1/detect stack with the runner on `webgpu`) against PyTorch CUDA fp32 in the same run, one table at the end.
#
#   bash bench/gpu-check.sh --pack        here: build bench/gpu-check/dist/gpu-check.tar.xz (Node, bundles, natives)
#   bash bench/gpu-check.sh [--quick]     here, from the repository (needs Node and node_modules)
#   ./gpu-check/gpu-check.sh [--quick]    on the GPU machine, from the unpacked bundle (needs nothing from the network)
#
# Options after the mode go to the check: --quick (dry run on a software adapter), --budget <s> (default 450),
# --only <sections>, --python <interpreter> (default $PYTHON or python3). See bench/gpu-check/README.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
started=$SECONDS

if [[ "${1:-}" == "--pack" ]]; then
  shift
  cd "$here/.."
  exec npx tsx bench/gpu-check/pack.ts "$@"
fi

export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
if [[ -z "${PYTHON:-}" ]] && ! command -v python3 >/dev/null && command -v python >/dev/null; then export PYTHON=python; fi

if [[ -f "$here/app/check.mjs" ]]; then
  # The unpacked bundle: its own Node, and the Vulkan loader unpacked from the shipped .deb on first use.
  node="$here/bin/node"
  check=("$here/app/check.mjs")
  vulkan="$here/vulkan"
  if [[ ! -d "$vulkan/usr" ]]; then
    deb="$(ls "$here"/debs/libvulkan1_*.deb | head -n1)"
    if command -v dpkg >/dev/null; then
      dpkg -x "$deb" "$vulkan"
    else
      # No dpkg: a .deb is an ar archive holding data.tar.*; Python's tarfile reads it.
      python3 - "$deb" "$vulkan" <<'PY'
import io, sys, tarfile
data = open(sys.argv[1], "rb").read()
pos = 8
while pos < len(data):
    name, size = data[pos:pos + 16].decode().strip().rstrip("/"), int(data[pos + 48:pos + 58].decode().strip())
    if name.startswith("data.tar"):
        tarfile.open(fileobj=io.BytesIO(data[pos + 60:pos + 60 + size])).extractall(sys.argv[2])
    pos += 60 + size + (size & 1)
PY
    fi
  fi
  loader_dir="$(dirname "$(find "$vulkan" -name 'libvulkan.so.1' | head -n1)")"
  export LD_LIBRARY_PATH="$loader_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "Vulkan loader: $loader_dir (from $(basename "$(ls "$here"/debs/libvulkan1_*.deb)"))"
else
  # The repository: this machine's Node and node_modules, TypeScript through tsx.
  node="node"
  check=("$here/../node_modules/tsx/dist/cli.mjs" "$here/gpu-check/check.ts")
  if ! command -v node >/dev/null; then
    echo "no Node here: run 'bash bench/gpu-check.sh --pack' on a machine with the repository and copy the bundle" >&2
    exit 2
  fi
fi

# The NVIDIA container runtime's Vulkan ICD, when there is one; else the loader's own search (lavapipe here).
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
  if [[ -f "$icd" && -z "${VK_ICD_FILENAMES:-}" ]]; then
    export VK_ICD_FILENAMES="$icd" VK_DRIVER_FILES="$icd"
    for lib in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
      [[ -d "$lib" ]] && export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    done
  fi
done
echo "Vulkan ICD: ${VK_ICD_FILENAMES:-loader default}$([[ -n "${VK_ICD_FILENAMES:-}" ]] && grep -o '"library_path"[^,}]*' "$VK_ICD_FILENAMES" | sed 's/^/ (/; s/$/)/')"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | sed 's/^/GPU: /' || true

status=0
"$node" "${check[@]}" "$@" || status=$?
echo "gpu-check wall time: $((SECONDS - started)) s (exit $status)"
exit $status
