#!/usr/bin/env bash
# The GPU checks in one command: the GPU test lists (raw ops, autodiff over the GPU backend, the PTX check, the GPU
# scene: equality with the CPU fast path, gradients on the device, no transfers per step, mixed devices, out of
# memory), then the physics benchmark (benchmarks/Genesis.Benchmarks.Gpu --physics: env-steps/s against nEnvs for
# the humanoid and the go2, forward and forward+backward, GPU against the CPU fast path, kernel launches per step,
# device memory). On a machine with a CUDA device the tests run there too and the benchmark measures CUDA; without
# one (or with GENESIS_GPU=cpu) everything runs on ILGPU's CPU accelerator, which checks semantics, not speed.
# Usage: bash tools/gpu-check.sh [--quick] [--no-build]
#   --quick: the benchmark at 1 env, one step (what CI runs); --no-build: use the existing Release builds
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

quick=""
build=1
for a in "$@"; do
    case "$a" in
        --quick) quick="--quick" ;;
        --no-build) build=0 ;;
        *) echo "gpu-check: unknown argument $a (use --quick, --no-build)"; exit 2 ;;
    esac
done

if [ $build -eq 1 ]; then
    dotnet build tests/Genesis.Tests -c Release -v quiet -nologo
    dotnet build benchmarks/Genesis.Benchmarks.Gpu -c Release -v quiet -nologo
fi

echo "=== GPU tests"
for list in "Tensors.Gpu" "Engine.Gpu scene"; do
    dotnet run --project tests/Genesis.Tests -c Release --no-build -- --colours 0 --sequenced --filter-test-list "$list"
done

echo "=== physics benchmark ${quick:-(full)}"
dotnet run --project benchmarks/Genesis.Benchmarks.Gpu -c Release --no-build -- --physics $quick
echo "gpu check: ok"
