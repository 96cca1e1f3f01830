#!/usr/bin/env bash
# Sourced (not run) by tools/consumer-check.sh, tools/run-notebooks.sh and .ci/run: how to use the packages in
# artifacts/packages (tools/pack.sh) the way a user's machine would, without touching the machine's NuGet
# configuration and without naming any feed. After `source tools/package-env.sh` (from the repository root):
#   packages   the local package folder, absolute (artifacts/packages)
#   version    the packed version (of the Genesis.FSharp package there)
#   sources    (--source ...) the local folder plus every enabled feed configured on this machine
#   global     the machine's NuGet packages folder
# and `use_private_packages DIR` exports NUGET_PACKAGES=DIR (so a package re-packed under the same version is never
# served from an earlier run's cache), NUGET_FALLBACK_PACKAGES=$global (dependencies already there are not
# downloaded again) and RestoreAdditionalProjectSources=$packages (the local folder for restores that take no
# --source, such as `dotnet fsi` resolving `#r "nuget: ..."`).

packages="$PWD/artifacts/packages"
if ! ls "$packages"/Genesis.FSharp.*.nupkg >/dev/null 2>&1; then
    echo "no packages in $packages: run bash tools/pack.sh first"
    return 1
fi
version=$(basename "$(ls "$packages"/Genesis.FSharp.*.nupkg | grep -v symbols | head -n 1)" .nupkg | sed 's/^Genesis\.FSharp\.//')

sources=(--source "$packages")
while read -r state url; do
    if [ "$state" = "E" ]; then sources+=(--source "$url"); fi
done < <(dotnet nuget list source --format short)

global=$(dotnet nuget locals global-packages --list | sed 's/^global-packages: *//')

# use_private_packages DIR: restores below use DIR as the packages folder, the machine's as a fallback.
use_private_packages() {
    mkdir -p "$1"
    export NUGET_PACKAGES="$1" NUGET_FALLBACK_PACKAGES="$global" RestoreAdditionalProjectSources="$packages"
}
