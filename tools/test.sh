#!/usr/bin/env bash
# Runs every test suite (F# engine via Expecto, C# facade, notebook runner) after installing
# system packages, restoring and building. Ends with one plain `N passed, N failed` line summing
# the suites.
# Usage: bash tools/test.sh [--no-build] [expecto args, e.g. --filter Tensors]
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

build=1
if [ "${1:-}" = "--no-build" ]; then build=0; shift; fi

bash tools/install-deps.sh || { echo "installing system packages failed"; echo "0 passed, 1 failed"; exit 1; }
# every dependency is installed now: a skipped test (e.g. the MuJoCo oracle suite) counts as a failure
export GENESIS_SKIP_IS_FAILURE=1
if [ $build -eq 1 ]; then
    dotnet restore Genesis.sln --locked-mode || { echo "0 passed, 1 failed"; exit 1; }
    dotnet build Genesis.sln -c Release --no-restore || { echo "0 passed, 1 failed"; exit 1; }
fi

total_passed=0
total_failed=0
run_suite() {
    local name=$1; shift
    printf '\n=== tests: %s\n' "$name"
    local log
    log=$(mktemp)
    "$@" 2>&1 | tee "$log"
    local rc=${PIPESTATUS[0]}
    local line
    line=$(sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$log" | grep -Eo '[0-9]+ passed, [0-9]+ failed' | tail -n 1)
    rm -f "$log"
    if [ -z "$line" ]; then
        echo "suite $name printed no summary (exit $rc)"
        total_failed=$((total_failed + 1))
        return
    fi
    local p f
    p=$(echo "$line" | awk '{print $1}')
    f=$(echo "$line" | awk '{print $3}')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    total_passed=$((total_passed + p))
    total_failed=$((total_failed + f))
}

run_suite "F# engine" dotnet run --project tests/Genesis.Tests -c Release --no-build -- --colours 0 --sequenced "$@"
run_suite "C# facade" dotnet run --project tests/Genesis.CSharpFacade.Tests -c Release --no-build
run_suite "notebook runner" dotnet run --project tools/NotebookRunner.Tests -c Release --no-build

echo
echo "${total_passed} passed, ${total_failed} failed"
[ "$total_failed" -eq 0 ] && [ "$total_passed" -gt 0 ]
