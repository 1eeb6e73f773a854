#!/usr/bin/env bash
# The host lane: set-up, then every test on this machine's kernel (or the files given), then
# one plain "N passed, M failed, K skipped" line. tools/test.sh runs it, then the guest lane.
set -uo pipefail
cd "$(dirname "$0")/.."

if ! bash tools/setup.sh; then
  echo "0 passed, 1 failed"
  exit 1
fi
mkdir -p build
deno=node_modules/.bin/deno
# Extra arguments select test files (default: all of tests/).
targets=("$@")
((${#targets[@]})) || targets=(tests/)
# Type-check everything once, as its own result, so a type error in one module does not
# hide the results of every test.
check_failed=0
if ! NO_COLOR=1 "$deno" check --quiet mod.ts bpf/ ffi/ probe/ shell/ serve/ scripts/ tests/ bench/ tools/ \
  >build/check.log 2>&1; then
  cat build/check.log
  echo "type check ... FAILED"
  check_failed=1
fi
NO_COLOR=1 "$deno" test -A --no-prompt --no-check "${targets[@]}" 2>&1 | tee build/test.log
status=${PIPESTATUS[0]}

summary=$(grep -E '^(ok|FAILED) \| ' build/test.log | tail -n 1)
passed=$(sed -nE 's/.* ([0-9]+) passed.*/\1/p' <<<"$summary")
failed=$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$summary")
skipped=$(sed -nE 's/.* ([0-9]+) ignored.*/\1/p' <<<"$summary")
if [ -z "$summary" ]; then
  # Deno stopped before running tests (e.g. a type error): count that as a failure.
  passed=0
  failed=1
  status=1
fi
if ((check_failed)); then
  failed=$((${failed:-0} + 1))
  status=1
else
  passed=$((${passed:-0} + 1))
fi
echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
exit "$status"
