#!/usr/bin/env bash
# Packs Genesis.FSharp and Genesis.CSharpFacade (and Genesis.Gpu.Kernels, a package the engine depends
# on) into artifacts/packages (git-ignored) and uses them the way a user would: a brand-new C# console project in a temporary folder outside the repository adds
# both packages, restores them from that folder (the machine's configured feeds supply their
# dependencies), and runs a small gradient program (Gs.Init, Gs.Tensor, Backward, Grad) whose printed
# gradient is checked. Prints `consumer check: ok` and exits 0 on success.
# Usage: bash tools/consumer-check.sh [--no-build]    (--no-build: pack the existing Release builds)
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

build=1
if [ "${1:-}" = "--no-build" ]; then build=0; fi

packages="$PWD/artifacts/packages"
rm -rf "$packages"
mkdir -p "$packages"
if [ $build -eq 1 ]; then
    dotnet build src/Genesis.CSharpFacade -c Release -v quiet -nologo    # builds the engine too
fi
for project in src/Genesis.Gpu.Kernels src/Genesis.FSharp src/Genesis.CSharpFacade; do
    dotnet pack "$project" -c Release --no-build -o "$packages" -v quiet -nologo
done
version=$(basename "$packages"/Genesis.CSharpFacade.*.nupkg .nupkg | sed 's/^Genesis\.CSharpFacade\.//')
echo "packed version $version:" "$packages"/*.nupkg

# Sources: the local folder plus every enabled feed configured on this machine (read here, named nowhere).
sources=(--source "$packages")
while read -r state url; do
    if [ "$state" = "E" ]; then sources+=(--source "$url"); fi
done < <(dotnet nuget list source --format short)

# A private packages folder, so that a package of the same version left by an earlier run is never
# reused; the user's packages folder is a fallback for the dependencies (no download when present).
global=$(dotnet nuget locals global-packages --list | sed 's/^global-packages: *//')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export NUGET_PACKAGES="$tmp/packages"

app="$tmp/GradientCheck"
dotnet new console -o "$app" --no-restore >/dev/null
for package in Genesis.FSharp Genesis.CSharpFacade; do
    dotnet add "$app" package "$package" --version "$version" --no-restore >/dev/null
done
dotnet restore "$app" "${sources[@]}" -p:RestoreFallbackFolders="$global" -v quiet
cat > "$app/Program.cs" <<'CS'
using Genesis.CSharp;

Gs.Init(precision: "64");
var x = Gs.Tensor(new[] { 1.0, 2.0, 3.0 }, requiresGrad: true);
var y = (x * x).Sum();
y.Backward();
Console.WriteLine($"grad: {string.Join(" ", x.Grad!.ToArray())}");
CS

output=$(dotnet run --project "$app" --no-restore -c Release)
echo "$output"
if [ "$output" != "grad: 2 4 6" ]; then
    echo "consumer check: expected 'grad: 2 4 6'"
    exit 1
fi
echo "consumer check: ok"
