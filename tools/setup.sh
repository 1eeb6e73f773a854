#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian 12 machine: system packages (libbpf, clang, bpftool,
# tmux for the shell tests, sys/sdt.h for the USDT fixture, Prometheus and its Pushgateway
# for the serve tests, bpftrace as the probe language's oracle), Deno and the npm libraries,
# then every BPF object under build/.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'setup: %s\n' "$*" >&2; }

source tools/apt.sh
apt_install_missing libbpf1 libbpf-dev libelf-dev zlib1g-dev clang llvm bpftool gcc libc6-dev \
  tmux iproute2 procps systemtap-sdt-dev prometheus prometheus-pushgateway bpftrace

# Deno and the libraries come from npm, pinned by package-lock.json.
stamp=node_modules/.bpfsh-lock
if [ ! -x node_modules/.bin/deno ] || ! cmp -s package-lock.json "$stamp"; then
  log "installing Deno and npm libraries (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  cp package-lock.json "$stamp"
fi

# BPF objects (tests, scripts, benchmarks) and the C baselines; cached by content.
node_modules/.bin/deno run -A --quiet tools/build.ts >build.log 2>&1 || {
  cat build.log >&2
  log "building BPF objects failed"
  exit 1
}
mkdir -p build && mv build.log build/build.log
# The bpfsh launcher's Deno cache (DENO_DIR=build/deno): the modules a command line, a
# one-liner and a script load, compiled once here with the launcher's V8 flags.
mkdir -p build/deno
# (`deno eval` would not keep V8's code cache: a data: module as the main one does.)
DENO_DIR=build/deno node_modules/.bin/deno run -A --quiet --v8-flags=--max-semi-space-size=4 \
  "data:application/typescript,for (const m of ['shell/main.ts', 'probe/cli.ts',
    'probe/runner.ts', 'probe/compile.ts', 'bpf/build/compile.ts', 'mod.ts'])
    await import(new URL(m, 'file://$PWD/').href);" || {
  log "compiling the modules into build/deno failed"
  exit 1
}
# The probe command line's bundle (probe/bundle.ts), and its code cache with the flags the
# launcher gives `bpfsh -e`.
DENO_DIR=build/deno node_modules/.bin/deno run -A --quiet tools/bundle.ts || {
  log "bundling the probe command line failed (bpfsh -e runs from the sources, slower to start)"
}
if [ -f build/bundle/bundle_entry.js ]; then
  DENO_DIR=build/deno node_modules/.bin/deno run -A --quiet \
    --v8-flags=--max-semi-space-size=4,--no-lazy \
    "data:application/typescript,for (const m of ['shell/main.ts', 'build/bundle/bundle_entry.js',
      'build/bundle/bundle_runner.js']) await import(new URL(m, 'file://$PWD/').href);" || {
    log "compiling the probe bundle into build/deno failed"
    exit 1
  }
fi
touch build/.setup-done
log "ready"
