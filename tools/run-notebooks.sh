#!/usr/bin/env bash
# Executes every notebooks/*.ipynb with tools/NotebookRunner (F# cells through
# FSharp.Compiler.Service, C# cells through Roslyn scripting), with the Release builds of the
# engine (src/Genesis.FSharp) and the C# facade (src/Genesis.CSharpFacade) referenced in every
# cell. Executed copies go to notebooks/executed/ (git-ignored). Fails when any cell fails.
# Usage: bash tools/run-notebooks.sh [--no-build] [runner options, e.g. --timeout 300]
# See docs/notebooks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

build=1
if [ "${1:-}" = "--no-build" ]; then build=0; shift; fi

shopt -s nullglob
notebooks=(notebooks/*.ipynb)
if [ ${#notebooks[@]} -eq 0 ]; then
    echo "no notebooks"
    exit 0
fi

if [ $build -eq 1 ]; then
    # The facade builds the engine too.
    dotnet build src/Genesis.CSharpFacade -c Release -v quiet -nologo
    dotnet build tools/NotebookRunner -c Release -v quiet -nologo
fi

refs=(src/Genesis.FSharp/bin/Release/net10.0/Genesis.FSharp.dll
      src/Genesis.CSharpFacade/bin/Release/net10.0/Genesis.CSharpFacade.dll)
for r in "${refs[@]}"; do
    [ -f "$r" ] || { echo "missing $r: build it (drop --no-build)"; exit 1; }
done

dotnet run --project tools/NotebookRunner -c Release --no-build -- \
    --out notebooks/executed --ref "${refs[0]}" --ref "${refs[1]}" "$@" "${notebooks[@]}"
