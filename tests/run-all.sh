#!/usr/bin/env bash
# The README's test command (.ci/run runs it too): fetches the npm test fixtures when needed, runs every test of
# Igia.sln in Release, and ends with one line "N passed, N failed, N skipped".
# Extra arguments go to `dotnet test`, e.g.  bash tests/run-all.sh --filter "FullyQualifiedName~Sandbox"
set -uo pipefail
cd "$(dirname "$0")/.."

summary() { echo "${1} passed, ${2} failed, ${3} skipped"; }

# npm test fixtures (every package-lock.json under tests/): FHIR test data (tests/fixtures), the OpenID provider for SMART
# tests (tests/Igia.Smart.Tests/oidc), SMART's client-js; each installed again only when its lock file changes.
for lock in $(find tests -name package-lock.json -not -path '*/node_modules/*' -not -path '*/bin/*' -not -path '*/obj/*' | sort); do
  fixture=$(dirname "$lock")
  if [ ! -f "$fixture/node_modules/.package-lock.json" ] \
     || [ "$fixture/package-lock.json" -nt "$fixture/node_modules/.package-lock.json" ]; then
    if ! command -v npm >/dev/null 2>&1; then
      echo "error: npm (Node.js) is needed to fetch the test fixtures in $fixture." >&2
      summary 0 0 0; exit 1
    fi
    if ! (cd "$fixture" && npm ci --no-audit --no-fund); then
      echo "error: 'npm ci' in $fixture failed." >&2
      summary 0 0 0; exit 1
    fi
  fi
done

results=$(mktemp -d)
dotnet test Igia.sln -c Release --logger "trx;LogFilePrefix=r" --results-directory "$results" "$@" 2>&1 | tee "$results/out.log"
status=${PIPESTATUS[0]}
passed=0; failed=0; skipped=0
for f in "$results"/*.trx; do
  [ -f "$f" ] || continue
  c=$(grep -o '<Counters [^>]*>' "$f" | head -1)
  p=$(echo "$c" | sed -n 's/.* passed="\([0-9]*\)".*/\1/p'); passed=$((passed + ${p:-0}))
  x=$(echo "$c" | sed -n 's/.* failed="\([0-9]*\)".*/\1/p'); failed=$((failed + ${x:-0}))
  s=$(echo "$c" | sed -n 's/.* notExecuted="\([0-9]*\)".*/\1/p'); skipped=$((skipped + ${s:-0}))
done
echo "Test results (trx) and the full log: $results"
summary "$passed" "$failed" "$skipped"
exit $status
