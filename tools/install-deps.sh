#!/usr/bin/env bash
# Installs the Debian packages the tests need (MuJoCo, the physics oracle, gcc, which builds
# the oracle's C shim in tests/Genesis.Tests/Oracle, and chromium, which runs the HTML viewer's
# tests headless with software WebGL in tests/Genesis.Tests/Vis; unzip, with which tools/pack.sh checks each
# package's contents). Idempotent.
set -euo pipefail
need=()
for p in libmujoco-dev libmujoco-samples gcc chromium unzip; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
