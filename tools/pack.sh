#!/usr/bin/env bash
# Builds the versioned NuGet packages a user adds: Genesis.FSharp (the engine), Genesis.CSharpFacade (the C#
# facade) and Genesis.Gpu.Kernels (the ILGPU kernels the engine loads at run time), each with its XML docs,
# README, licence and a symbols package (.snupkg), into artifacts/packages (git-ignored).
# Usage: bash tools/pack.sh [--no-build]    (--no-build: pack the existing Release builds)
# Consume them from any folder with that folder as a package source (docs/getting-started-*.md):
#   dotnet add package Genesis.CSharpFacade --version <version> --source <repo>/artifacts/packages
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

build=1
if [ "${1:-}" = "--no-build" ]; then build=0; fi

packages="$PWD/artifacts/packages"
rm -rf "$packages"
mkdir -p "$packages"
if [ $build -eq 1 ]; then
    dotnet build src/Genesis.CSharpFacade -c Release -v quiet -nologo    # builds the engine and the kernels too
fi
for project in src/Genesis.Gpu.Kernels src/Genesis.FSharp src/Genesis.CSharpFacade; do
    dotnet pack "$project" -c Release --no-build -o "$packages" -v quiet -nologo
done
# every package must carry its documentation, readme and licence
for nupkg in "$packages"/*.nupkg; do
    listing=$(unzip -l "$nupkg")
    for need in README.md '\.xml$' '\.dll$'; do
        grep -Eq "$need" <<<"$listing" || { echo "pack: $(basename "$nupkg") lacks $need"; exit 1; }
    done
    unzip -p "$nupkg" '*.nuspec' | grep -q '<license type="expression">Apache-2.0</license>' \
        || { echo "pack: $(basename "$nupkg") declares no licence"; exit 1; }
done
ls "$packages"
