#!/usr/bin/env bash
# Uses the packages (tools/pack.sh, in artifacts/packages, git-ignored) the way a user with only the packages and the
# docs would: the quick start (a two-link arm loaded by its path under the engine's shipped assets, 100 steps, a loss,
# backward) runs from empty temporary folders outside the repository as a brand-new C# console project
# (Genesis.CSharpFacade), a brand-new F# console project (Genesis.FSharp) and an F# script (examples/quickstart.fsx,
# `#r "nuget: Genesis.FSharp, <version>"`), with the local folder as an extra package source (tools/package-env.sh),
# and as a notebook (tools/NotebookRunner, the package mapped to the assemblies the C# project restored). All four
# must print the same `quickstart: loss = ...` line. Prints `consumer check: ok` and exits 0 on success.
# (The repository's notebooks run the same way from a copy outside it: tools/run-notebooks.sh.)
# Usage: bash tools/consumer-check.sh [--no-build | --no-pack]
#   --no-build: pack the existing Release builds; --no-pack: use the packages already in artifacts/packages
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

if [ "${1:-}" = "--no-pack" ]; then shift; else bash tools/pack.sh "$@"; fi
source tools/package-env.sh
echo "packed version $version:" "$packages"/*.nupkg

# the scripts and notebooks ask for the packed version (the notebook runner maps the name and does not check it)
for f in examples/*.fsx notebooks/*.ipynb; do
    asked=$(grep -Eo 'nuget: Genesis\.(FSharp|CSharpFacade), [0-9A-Za-z.+-]+' "$f" | sed 's/.*, //' | sort -u)
    if [ -n "$asked" ] && [ "$asked" != "$version" ]; then
        echo "consumer check: $f asks for Genesis $asked, the packages are $version"
        exit 1
    fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
use_private_packages "$tmp/packages"

# quickstart_loss WHO OUTPUT: shows the program's output (stderr); prints the loss line it printed, or fails.
quickstart_loss() {
    printf -- '--- %s:\n%s\n' "$1" "$2" >&2
    local line
    line=$(grep -E '^quickstart: loss = [0-9]+\.[0-9]{6}$' <<<"$2" || true)
    if [ -z "$line" ] || ! grep -q '^initialPos.grad = ' <<<"$2"; then
        echo "consumer check: the $1 printed no 'quickstart: loss = ...' and 'initialPos.grad = ...' lines" >&2
        exit 1
    fi
    echo "$line"
}

# A C# console project in an empty folder, run from that folder (no robot file there: the package's assets serve it).
app="$tmp/QuickstartCs"
dotnet new console -o "$app" --no-restore >/dev/null
dotnet add "$app" package Genesis.CSharpFacade --version "$version" --no-restore >/dev/null
cat > "$app/Program.cs" <<'CS'
using Genesis.CSharp;

Gs.Init(precision: "64", seed: 0);
var scene = new Scene(new SimOptions { Dt = 0.01, RequiresGrad = true });
var robot = scene.AddEntity(Morphs.Urdf("two_link_arm/two_link_arm.urdf", fixedBase: true));
scene.Build();
var initialPos = Gs.Tensor(new[] { 0.3, -0.2 }, requiresGrad: true);
robot.SetDofsPosition(initialPos);
var controls = Gs.Full(new[] { 100, robot.NDofs }, 0.5, requiresGrad: true);
for (int t = 0; t < 100; t++)
{
    robot.ControlDofsForce(controls[t]);
    scene.Step();
}
var target = Gs.Tensor(new[] { 0.4, 0.2, -0.6 });
var loss = (robot.GetLink("arm2").GetPos() - target).Pow(2).Mean();
loss.Backward();
Console.WriteLine($"quickstart: loss = {loss.Item():F6}");
Console.WriteLine($"initialPos.grad = {initialPos.Grad}");
Console.WriteLine($"assets: {Gs.AssetsDir}");
CS
cs=$(quickstart_loss "C# project" "$(cd "$app" && dotnet run -c Release 2>&1)")
ls "$app"/bin/Release/net*/genesis-assets/two_link_arm/two_link_arm.urdf >/dev/null \
    || { echo "consumer check: the C# project's output lacks the engine's assets (genesis-assets)"; exit 1; }

# An F# console project in an empty folder with the quick start's source (examples/Genesis.Examples/Quickstart.fs,
# what docs/getting-started-fsharp.md shows).
fsapp="$tmp/QuickstartFs"
dotnet new console -lang "F#" -o "$fsapp" --no-restore >/dev/null
dotnet add "$fsapp" package Genesis.FSharp --version "$version" --no-restore >/dev/null
# the engine is built against FSharp.Core 10.1.404, newer than the SDK's implicit one: raise the implicit version
sed -i 's|<TargetFramework>|<FSharpCoreImplicitPackageVersion>10.1.404</FSharpCoreImplicitPackageVersion>\n    <TargetFramework>|' "$fsapp/QuickstartFs.fsproj"
sed -i 's|<Compile Include="Program.fs" />|<Compile Include="Pictures.fs" />\n    <Compile Include="Quickstart.fs" />\n    <Compile Include="Program.fs" />|' "$fsapp/QuickstartFs.fsproj"
cp examples/Genesis.Examples/Pictures.fs examples/Genesis.Examples/Quickstart.fs "$fsapp/"
cat > "$fsapp/Program.fs" <<'FS'
open Genesis

gs.init(precision = "64", seed = 0)
Genesis.Examples.Quickstart.run () |> ignore
FS
fs=$(quickstart_loss "F# project" "$(cd "$fsapp" && dotnet run -c Release 2>&1)")

# The F# script examples/quickstart.fsx with the file it loads, in an empty folder: `#r "nuget: Genesis.FSharp, ...`
# finds the package through the local source.
script="$tmp/script"
mkdir -p "$script/Genesis.Examples"
cp examples/quickstart.fsx "$script/"
cp examples/Genesis.Examples/Pictures.fs examples/Genesis.Examples/Quickstart.fs "$script/Genesis.Examples/"
fsx=$(quickstart_loss "F# script" "$(cd "$script" && dotnet fsi --quiet quickstart.fsx 2>&1)")

# A notebook in an empty folder: `#r "nuget: Genesis.FSharp, ..."`, then the quick start's source, run by
# tools/NotebookRunner with the package mapped to the assemblies the C# project restored (docs/notebooks.md).
runner="$PWD/tools/NotebookRunner/bin/Release/net10.0/NotebookRunner.dll"
[ -f "$runner" ] || dotnet build tools/NotebookRunner -c Release -v quiet -nologo
nb="$tmp/notebook"
mkdir -p "$nb"
cp examples/Genesis.Examples/Pictures.fs examples/Genesis.Examples/Quickstart.fs "$nb/"
cat > "$nb/quickstart.ipynb" <<IPYNB
{
 "cells": [
  { "cell_type": "code", "execution_count": null, "metadata": {}, "outputs": [],
    "source": [ "#r \"nuget: Genesis.FSharp, $version\"" ] },
  { "cell_type": "code", "execution_count": null, "metadata": {}, "outputs": [],
    "source": [ "#load \"Pictures.fs\" \"Quickstart.fs\"\n", "Genesis.gs.init(precision = \"64\", seed = 0)\n",
                "Genesis.Examples.Quickstart.run () |> ignore" ] }
 ],
 "metadata": { "kernelspec": { "display_name": ".NET (F#)", "language": "F#", "name": ".net-fsharp" } },
 "nbformat": 4, "nbformat_minor": 5
}
IPYNB
(cd "$nb" && dotnet "$runner" --out executed \
    --nuget Genesis.FSharp="$(ls "$app"/bin/Release/net*/Genesis.FSharp.dll)" quickstart.ipynb >&2) \
    || { echo "consumer check: the notebook failed"; exit 1; }
# the lines the cells printed, as the executed notebook's stream outputs hold them
notebook_output=$(grep -oE 'quickstart: loss = [0-9]+\.[0-9]{6}|initialPos\.grad = ' "$nb/executed/quickstart.ipynb" || true)
ipynb=$(quickstart_loss "notebook" "$notebook_output")

if [ "$cs" != "$fs" ] || [ "$fs" != "$fsx" ] || [ "$fsx" != "$ipynb" ]; then
    echo "consumer check: the quick starts disagree: C# '$cs', F# project '$fs', F# script '$fsx', notebook '$ipynb'"
    exit 1
fi
echo "consumer check: ok ($fs in all four)"
