#!/usr/bin/env bash
# Executes every notebooks/*.ipynb the way a user with only the packages would: from a copy outside the repository,
# with `#r "nuget: Genesis.FSharp, ..."` / `#r "nuget: Genesis.CSharpFacade, ..."` resolved against the packages in
# artifacts/packages (tools/pack.sh). The packages are restored once into a scratch project (a private packages
# folder, so a package re-packed under the same version is never served from a cache; tools/package-env.sh), and
# tools/NotebookRunner (F# cells through FSharp.Compiler.Service, C# cells through Roslyn scripting) maps each such
# line to the restored assembly (--nuget NAME=PATH). Fails when any cell fails. See docs/notebooks.md.
# Usage: bash tools/run-notebooks.sh [--no-build] [--out DIR] [runner options, e.g. --timeout 300]
#   --no-build  use the existing Release build of the runner and the packages already in artifacts/packages
#   --out DIR   where the run happens (default: a new temporary folder, kept): DIR/notebooks holds the copies the
#               cells ran in, DIR/notebooks/executed the executed notebooks and the files the cells wrote. Nothing is
#               written into the repository unless DIR is inside it.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

build=1
out=""
while [ $# -gt 0 ]; do
    case "$1" in
        --no-build) build=0; shift ;;
        --out) out=${2:?--out needs a folder}; shift 2 ;;
        *) break ;;
    esac
done

shopt -s nullglob
notebooks=(notebooks/*.ipynb)
if [ ${#notebooks[@]} -eq 0 ]; then
    echo "no notebooks"
    exit 0
fi

if [ $build -eq 1 ]; then
    bash tools/pack.sh    # builds the engine, the kernels and the facade, then packs them
    dotnet build tools/NotebookRunner -c Release -v quiet -nologo
fi
source tools/package-env.sh

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
use_private_packages "$scratch/packages"
# the packages the notebooks reference, restored as a user's project would restore them (the facade brings the engine)
mkdir -p "$scratch/restore"
cat > "$scratch/restore/Restore.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="Genesis.CSharpFacade" Version="$version" />
  </ItemGroup>
</Project>
XML
echo 'System.Console.WriteLine("restored");' > "$scratch/restore/Program.cs"
dotnet build "$scratch/restore" -c Release -o "$scratch/bin" -v quiet -nologo >/dev/null \
    || { echo "restoring the packages $version from $packages failed"; exit 1; }

if [ -z "$out" ]; then out=$(mktemp -d "${TMPDIR:-/tmp}/genesis-notebooks.XXXXXX"); fi
mkdir -p "$out/notebooks"
cp "${notebooks[@]}" "$out/notebooks/"
echo "notebooks: running copies in $out/notebooks against the packages $version"

dotnet run --project tools/NotebookRunner -c Release --no-build -- \
    --out "$out/notebooks/executed" \
    --nuget Genesis.FSharp="$scratch/bin/Genesis.FSharp.dll" \
    --nuget Genesis.CSharpFacade="$scratch/bin/Genesis.CSharpFacade.dll" \
    "$@" "$out"/notebooks/*.ipynb
