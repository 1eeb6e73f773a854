#!/usr/bin/env bash
# The whole test suite, as CI runs it (`.ci/run` calls exactly this):
#
#   bash tools/test.sh                  # set-up, the host lane, then the guest lane
#   bash tools/test.sh tests/x_test.ts  # only these files, on this machine
#   BPFSH_LANES=host bash tools/test.sh # the host lane only
#
# The host lane (tools/host_tests.sh) runs every test on this machine's kernel; the guest lane
# (tools/vmtest.sh) runs the files marked `// @guest` on Debian 12's 6.1 kernel under qemu.
# Each prints its own "N passed, M failed, K skipped" line; the last line is their sum. Fails
# when either lane fails.
set -uo pipefail
cd "$(dirname "$0")/.."

if (($#)) || [ "${BPFSH_LANES:-all}" = host ]; then
  exec bash tools/host_tests.sh "$@"
fi

mkdir -p build
# Run one lane, echoing its output, and keep its summary line, status and wall time.
lane() {
  local name=$1 start=$SECONDS
  shift
  "$@" 2>&1 | tee "build/lane-$name.log"
  local status=${PIPESTATUS[0]}
  eval "${name}_status=$status ${name}_secs=$((SECONDS - start))"
  eval "${name}_line=\$(grep -E '^[0-9]+ passed, [0-9]+ failed' build/lane-$name.log | tail -n 1)"
}
count() {
  local n
  n=$(sed -nE "s/^([0-9]+ [a-z]+, )*([0-9]+) $1\b.*$/\2/p" <<<"$2")
  echo "${n:-0}"
}

lane host bash tools/host_tests.sh
lane guest bash tools/vmtest.sh

echo
echo "host  $(uname -r): ${host_line:-no summary} (${host_secs} s)"
echo "guest: ${guest_line:-no summary}"
passed=$(($(count passed "$host_line") + $(count passed "$guest_line")))
failed=$(($(count failed "$host_line") + $(count failed "$guest_line")))
skipped=$(($(count skipped "$host_line") + $(count skipped "$guest_line")))
# A lane that failed without a summary still counts as a failure.
[ -n "$host_line" ] || failed=$((failed + 1))
[ -n "$guest_line" ] || failed=$((failed + 1))
echo "$passed passed, $failed failed, $skipped skipped"
((host_status == 0 && guest_status == 0 && failed == 0))
