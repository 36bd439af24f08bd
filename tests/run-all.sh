#!/usr/bin/env bash
# Runs every test in the solution and prints one closing line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
results=$(mktemp -d)
dotnet test Igia.sln -c Release --logger "trx;LogFilePrefix=r" --results-directory "$results" 2>&1 | tee "$results/out.log"
status=${PIPESTATUS[0]}
passed=0; failed=0; skipped=0
for f in "$results"/*.trx; do
  [ -f "$f" ] || continue
  c=$(grep -o '<Counters [^>]*>' "$f" | head -1)
  p=$(echo "$c" | sed -n 's/.* passed="\([0-9]*\)".*/\1/p'); passed=$((passed + ${p:-0}))
  x=$(echo "$c" | sed -n 's/.* failed="\([0-9]*\)".*/\1/p'); failed=$((failed + ${x:-0}))
  s=$(echo "$c" | sed -n 's/.* notExecuted="\([0-9]*\)".*/\1/p'); skipped=$((skipped + ${s:-0}))
done
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
exit $status
