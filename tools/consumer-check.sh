#!/usr/bin/env bash
# Packs the packages (tools/pack.sh) into artifacts/packages (git-ignored) and uses them the way a user would,
# from a temporary folder outside the repository, with that folder as a package source (the machine's
# configured feeds supply their dependencies): a brand-new C# console project (Genesis.CSharpFacade), a
# brand-new F# console project (Genesis.FSharp) and an F# script (`#r "nuget: Genesis.FSharp"`) each run a
# small gradient program whose printed gradient is checked. Prints `consumer check: ok` and exits 0 on success.
# Usage: bash tools/consumer-check.sh [--no-build]    (--no-build: pack the existing Release builds)
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

packages="$PWD/artifacts/packages"
bash tools/pack.sh "$@"
version=$(basename "$packages"/Genesis.CSharpFacade.*.nupkg .nupkg | sed 's/^Genesis\.CSharpFacade\.//' | grep -v symbols)
echo "packed version $version:" "$packages"/*.nupkg

# expect_gradient WHO OUTPUT: the program printed the gradient of sum(x^2) at (1, 2, 3), or the check fails.
expect_gradient() {
    echo "$1: $2"
    if [ "$2" != "grad: 2 4 6" ]; then
        echo "consumer check: the $1 printed '$2', expected 'grad: 2 4 6'"
        exit 1
    fi
}

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

output=$(dotnet run --project "$app" --no-restore -c Release | grep '^grad:' || true)
expect_gradient "C# project" "$output"

fsapp="$tmp/GradientCheckFs"
dotnet new console -lang "F#" -o "$fsapp" --no-restore >/dev/null
dotnet add "$fsapp" package Genesis.FSharp --version "$version" --no-restore >/dev/null
# the engine is built against FSharp.Core 10.1.404, newer than the SDK's implicit one: raise the implicit version
sed -i 's|<TargetFramework>|<FSharpCoreImplicitPackageVersion>10.1.404</FSharpCoreImplicitPackageVersion>\n    <TargetFramework>|' "$fsapp/GradientCheckFs.fsproj"
dotnet restore "$fsapp" "${sources[@]}" -p:RestoreFallbackFolders="$global" -v quiet
cat > "$fsapp/Program.fs" <<'FS'
open Genesis

gs.init(precision = "64")
let x = gs.tensor([ 1.0; 2.0; 3.0 ], requiresGrad = true)
let y = (x * x).sum()
y.backward()
printfn "grad: %s" (x.grad.toArray1D<float>() |> Array.map string |> String.concat " ")
FS
output=$(dotnet run --project "$fsapp" --no-restore -c Release | grep '^grad:' || true)
expect_gradient "F# project" "$output"

# an F# script referencing the package by name, with the local folder as an extra source (#i)
script="$tmp/gradient.fsx"
cat > "$script" <<FSX
#i "nuget: $packages"
#r "nuget: Genesis.FSharp, $version"
open Genesis

gs.init(precision = "64")
let x = gs.tensor([ 1.0; 2.0; 3.0 ], requiresGrad = true)
(x * x).sum().backward()
printfn "grad: %s" (x.grad.toArray1D<float>() |> Array.map string |> String.concat " ")
FSX
output=$(cd "$tmp" && dotnet fsi --quiet "$script" 2>&1 | grep '^grad:' || true)
expect_gradient "F# script" "$output"
echo "consumer check: ok"
