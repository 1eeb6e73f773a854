#!/usr/bin/env bash
# The guest lane: the kernel-facing tests on Debian 12's stock kernel (6.1), under qemu.
#
#   bash tools/vmtest.sh                       # every test file tagged for the guest
#   bash tools/vmtest.sh tests/attach_test.ts  # only these files
#   BPFSH_VM_FILTER='kprobe' bash tools/vmtest.sh   # deno test --filter inside the guest
#
# Builds the guest (the kernel from apt; an initramfs with busybox, Deno, libbpf, bpftool,
# iproute2, clang with the BPF headers, the repository and its prebuilt BPF objects), boots it with KVM when KVM boots
# here and with TCG otherwise, runs `bpfsh doctor` and the tests there, and ends with one line:
# "N passed, M failed, K skipped (guest RELEASE, ACCEL, S s)". Exits non-zero on failure.
#
# A test file joins the lane with a line starting `// @guest` (see README, "Kernels tested").
# Cached under build/vm/: the kernel .deb and what it unpacks to, and the initramfs, rebuilt
# only when one of its inputs changed.
#
# Environment: BPFSH_VM_KERNEL (an apt package, default the newest
# linux-image-6.1.0-N-cloud-amd64-unsigned apt knows), BPFSH_VM_ACCEL (kvm or tcg: skip the
# detection), BPFSH_VM_TIMEOUT (seconds for the whole boot, default 600), BPFSH_VM_FILTER.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
vm=build/vm
timeout_s=${BPFSH_VM_TIMEOUT:-600}
started=$SECONDS

log() { printf 'vmtest: %s\n' "$*" >&2; }
fail() {
  log "$*"
  echo "0 passed, 1 failed, 0 skipped (guest not run: $*)"
  exit 1
}

# --- host tools --------------------------------------------------------------------------
source tools/apt.sh
apt_install_missing qemu-system-x86 busybox-static cpio ||
  fail "apt-get install qemu-system-x86 busybox-static cpio failed"
# The prebuilt objects and node_modules the guest carries (a no-op when already set up).
bash tools/setup.sh >/dev/null 2>"$root/build/vm-setup.log" ||
  { cat build/vm-setup.log >&2; fail "tools/setup.sh failed"; }
mkdir -p "$vm"
mv build/vm-setup.log "$vm/setup.log"

# --- the kernel --------------------------------------------------------------------------
newest_kernel() {
  apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-cloud-amd64-unsigned$' |
    awk '{print $1}' | sort -V | tail -n 1
}
pkg=${BPFSH_VM_KERNEL:-$(newest_kernel)}
if [ -z "$pkg" ]; then
  log "apt knows no linux-image-6.1.0-*-cloud-amd64-unsigned: apt-get update"
  apt-get update -qq || true
  pkg=$(newest_kernel)
fi
[ -n "$pkg" ] || fail "no Debian 6.1 cloud kernel package found by apt-cache"
kdir=$vm/kernel/$pkg
if [ ! -f "$kdir/.done" ]; then
  rm -rf "$kdir" && mkdir -p "$kdir"
  log "downloading $pkg"
  (cd "$kdir" && apt-get download -q "$pkg" >download.log 2>&1) ||
    { cat "$kdir/download.log" >&2; fail "apt-get download $pkg failed"; }
  deb=$(ls "$kdir"/*.deb)
  # Only what the guest boots with: the kernel, its config, the modules listed below.
  mkdir -p "$kdir/x"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$kdir/x" --wildcards './boot/vmlinuz-*' \
    './boot/config-*' '*/sch_ingress.ko' '*/cls_bpf.ko' '*/veth.ko' '*/dummy.ko' ||
    fail "unpacking $deb failed"
  touch "$kdir/.done"
fi
vmlinuz=$(ls "$kdir"/x/boot/vmlinuz-* 2>/dev/null | head -n 1)
[ -n "$vmlinuz" ] || fail "$pkg has no /boot/vmlinuz"
release=${vmlinuz##*/vmlinuz-}
# Built as modules in that kernel: tc's clsact qdisc and cls_bpf, veth and dummy links.
modules=()
for m in net/sched/sch_ingress.ko net/sched/cls_bpf.ko drivers/net/veth.ko drivers/net/dummy.ko; do
  f=$kdir/x/lib/modules/$release/kernel/$m
  [ -f "$f" ] && modules+=("$f")
done

# --- the tests ---------------------------------------------------------------------------
if (($#)); then
  tests=("$@")
else
  mapfile -t tests < <(grep -l '^// @guest' tests/*_test.ts | sort)
fi
((${#tests[@]})) || fail "no test file is tagged '// @guest'"
for t in "${tests[@]}"; do [ -f "$t" ] || fail "no such test file: $t"; done

# --- the initramfs -----------------------------------------------------------------------
# A manifest of "GUEST_PATH<TAB>HOST_PATH" (a file) or "GUEST_PATH<TAB>-> TARGET" (a link).
manifest=$vm/manifest.new
: >"$manifest"
add_file() { printf '%s\t%s\n' "$1" "$2" >>"$manifest"; }
add_link() { printf '%s\t-> %s\n' "$1" "$2" >>"$manifest"; }
# A host file at its own (resolved) path, with the symlink that named it.
add_host() {
  local real
  real=$(readlink -f "$1") || return 1
  add_file "$real" "$real"
  [ "$1" = "$real" ] || add_link "$1" "$real"
}
# A binary and every library it loads (ldd), the dynamic loader included.
add_binary() {
  add_host "$1" || fail "missing $1"
  local lib
  for lib in $(ldd "$1" 2>/dev/null | grep -oE '/[^ ]+'); do add_host "$lib"; done
}

deno_bin=$(readlink -f node_modules/@deno/linux-x64-glibc/deno)
[ -x "$deno_bin" ] || fail "no Deno binary in node_modules (run tools/setup.sh)"
add_file /usr/bin/busybox "$(command -v busybox)"
add_binary "$deno_bin"
add_binary "$(readlink -f /usr/lib/x86_64-linux-gnu/libbpf.so.1)"
add_host /usr/lib/x86_64-linux-gnu/libbpf.so.1
for bin in bpftool tc ip; do
  path=$(command -v "$bin") && add_binary "$path"
done
add_host /lib/x86_64-linux-gnu/libc.so.6 # dlopen'd by tests
# clang and the headers BPF C includes, for what compiles at run time (`bpfsh -e`, the probe
# language; BpfObject.open() of a .bpf.c): the binary with its libraries, its own headers
# (found beside the binary), the kernel's UAPI headers and libbpf's.
clang_bin=$(command -v clang) || fail "no clang on the host (run tools/setup.sh)"
add_host "$clang_bin"
add_binary "$(readlink -f "$clang_bin")"
clang_res=$("$clang_bin" -print-resource-dir) || fail "clang -print-resource-dir failed"
while IFS= read -r f; do add_host "$f"; done < <(
  find "$clang_res/include" -maxdepth 1 -type f -name '*.h'
  find /usr/include/linux /usr/include/asm-generic /usr/include/bpf \
    /usr/include/x86_64-linux-gnu/asm -type f -name '*.h'
)
for m in "${modules[@]}"; do add_file "/lib/modules/bpfsh/${m##*/}" "$m"; done
add_file /init tools/vm/init
# The repository: tracked and new files of what runs (not bench/ nor docs), what the set-up
# built for the tests (BPF objects, fixture binaries) and scripts, and node_modules with the
# Deno binary linked rather than copied twice.
while IFS= read -r f; do
  add_file "/bpfsh/$f" "$f"
done < <(git ls-files -co --exclude-standard -- mod.ts deno.json package.json bpfsh bpf ffi \
  include probe serve shell scripts tests tools 2>/dev/null || find mod.ts deno.json \
  package.json bpfsh bpf ffi include probe serve shell scripts tests tools -type f)
for f in build/tests/* build/scripts/*.bpf.o build/.setup-done; do
  [ -f "$f" ] && add_file "/bpfsh/$f" "$f"
done
while IFS= read -r f; do
  case $f in
    node_modules/deno/deno | node_modules/@deno/*) ;;
    *) add_file "/bpfsh/$f" "$f" ;;
  esac
done < <(find node_modules -type f | sort)
add_link /bpfsh/node_modules/@deno/linux-x64-glibc/deno /usr/bin/deno
add_link /bpfsh/node_modules/deno/deno /usr/bin/deno
add_link /bpfsh/node_modules/.bin/deno ../deno/deno
add_link /usr/bin/deno "$deno_bin"
sort -u "$manifest" -o "$manifest"

# The cache key: the manifest and the content of every file in it.
key=$( {
  cat "$manifest"
  cut -f2 "$manifest" | grep -v '^-> ' | tr '\n' '\0' | xargs -0 sha256sum
} | sha256sum | cut -c1-16)
initrd=$vm/initramfs-$key.cpio
if [ -f "$initrd" ]; then
  log "initramfs up to date ($initrd)"
else
  log "building the initramfs"
  built_at=$SECONDS
  stage=$vm/root
  rm -rf "$stage" "$vm"/initramfs-*.cpio
  mkdir -p "$stage"/usr/{bin,sbin,lib,lib64} "$stage"/{dev,proc,sys,tmp,run,root,etc}
  for d in bin sbin lib lib64; do ln -s "usr/$d" "$stage/$d"; done
  # busybox's applets, where no real binary goes.
  for a in $("$(command -v busybox)" --list-full); do
    a=${a#usr/}
    ln -sf /usr/bin/busybox "$stage/usr/$a"
  done
  while IFS=$'\t' read -r dest src; do
    mkdir -p "$stage$(dirname "$dest")"
    case $src in
      "-> "*) ln -sfn "${src#-> }" "$stage$dest" ;;
      *) rm -f "$stage$dest" && cp -p "$src" "$stage$dest" || fail "copying $src" ;;
    esac
  done <"$manifest"
  chmod +x "$stage/init"
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$stage/etc/passwd"
  printf 'root:x:0:\n' >"$stage/etc/group"
  printf '127.0.0.1 localhost\n::1 localhost\n' >"$stage/etc/hosts"
  (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) \
    >"$initrd.tmp" || fail "cpio failed"
  mv "$initrd.tmp" "$initrd"
  rm -rf "$stage"
  log "initramfs built in $((SECONDS - built_at)) s ($(($(stat -c %s "$initrd") >> 20)) MiB)"
fi
mv "$manifest" "$vm/manifest"

# --- boot --------------------------------------------------------------------------------
joined=$(IFS=,; echo "${tests[*]}")
cmdline="console=ttyS0 panic=-1 quiet bpfsh_tests=$joined"
[ -n "${BPFSH_VM_FILTER:-}" ] && cmdline+=" bpfsh_filter=${BPFSH_VM_FILTER// /+}"
((${#cmdline} < 2000)) || fail "too many test files for the kernel command line"
out=$vm/guest.log
console=$vm/console.log

# Boot once: ACCEL, CPU, then seconds to wait for the kernel's first console line (0: no
# such check), for the guest's first report line, and for the whole run. Streams the report.
# Returns 0 when the guest powered off, 2 when it never came up, 1 otherwise.
boot() {
  local accel=$1 cpu=$2 alive_s=$3 up_s=$4 budget=$5 extra=${6:-} pid t0=$SECONDS
  : >"$out"
  : >"$console"
  timeout -k 5 "$budget" qemu-system-x86_64 -accel "$accel" -cpu "$cpu" -m 2048 -smp 2 \
    -kernel "$vmlinuz" -initrd "$initrd" -append "$cmdline$extra" \
    -display none -monitor none -no-reboot -nodefaults \
    -serial "file:$console" -serial "file:$out" </dev/null >"$vm/qemu.log" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null && ! grep -q '^bpfsh-vm: up' "$out"; do
    if ((SECONDS - t0 >= up_s)) ||
      { ((alive_s && SECONDS - t0 >= alive_s)) && ! grep -q 'Linux version' "$console"; }; then
      kill "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
      return 2
    fi
    sleep 0.2
  done
  grep -q '^bpfsh-vm: up' "$out" || { wait "$pid"; return 2; }
  log "the guest is up after $((SECONDS - t0)) s"
  tail -n +1 -f --pid="$pid" "$out" | sed -u -e 's/\r$//' -e '/^bpfsh-vm: doctor-json /d'
  wait "$pid"
}

# KVM when it boots here: a kernel that prints nothing within seconds (earlyprintk shows its
# first line at once when it runs) is hung, as nested KVM is on some hosts; else TCG.
accel=${BPFSH_VM_ACCEL:-}
rc=2
if [ "$accel" != tcg ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
  log "booting $release with KVM"
  boot kvm host 8 60 "$timeout_s" " earlyprintk=serial"
  rc=$?
  if ((rc == 2)); then
    log "KVM did not boot the guest here; falling back to TCG"
  else
    accel=kvm
  fi
fi
if ((rc == 2)); then
  [ "$accel" = kvm ] && [ -n "${BPFSH_VM_ACCEL:-}" ] && fail "BPFSH_VM_ACCEL=kvm: KVM did not boot"
  accel=tcg
  left=$((timeout_s - (SECONDS - started)))
  ((left > 30)) || fail "no time left for a TCG boot"
  log "booting $release under TCG (2 vCPUs)"
  boot tcg,thread=multi max 0 120 "$left"
  rc=$?
  ((rc == 2)) && fail "the guest did not come up under TCG (see $console)"
fi

# --- report ------------------------------------------------------------------------------
tr -d '\r' <"$out" >"$out.txt"
guest_release=$(sed -nE 's/^bpfsh-vm: up (.*)$/\1/p' "$out.txt")
status=$(sed -nE 's/^bpfsh-vm: status ([0-9]+)$/\1/p' "$out.txt")
summary=$(grep -E '^(ok|FAILED) \| ' "$out.txt" | tail -n 1)
passed=$(sed -nE 's/.* ([0-9]+) passed.*/\1/p' <<<"$summary")
failed=$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$summary")
skipped=$(sed -nE 's/.* ([0-9]+) ignored.*/\1/p' <<<"$summary")
secs=$((SECONDS - started))
if [ -z "$status" ]; then
  log "the guest stopped before reporting (timeout ${timeout_s}s?): last console lines:"
  tail -n 20 "$console" | tr -d '\r' >&2
  failed=$((${failed:-0} + 1))
  status=1
elif [ -z "$summary" ]; then
  failed=1
  status=1
fi
# The doctor is a check of its own: it must run in the guest, and what it reports must agree
# with the guest kernel's build configuration (kinds built in work, the others are missing).
config=$(ls "$kdir"/x/boot/config-* 2>/dev/null | head -n 1)
sed -nE 's/^bpfsh-vm: doctor-json (.*)$/\1/p' "$out.txt" >"$vm/doctor.json"
if grep -q '^bpfsh-vm: doctor status 0$' "$out.txt" && [ -n "$config" ] &&
  node_modules/.bin/deno run --allow-read tools/vm/doctor_check.ts "$vm/doctor.json" "$config"; then
  passed=$((${passed:-0} + 1))
else
  log "the guest's doctor failed or disagrees with $pkg's config"
  failed=$((${failed:-0} + 1))
  status=1
fi
echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped" \
  "(guest ${guest_release:-$release}, $accel, ${secs} s)"
((status == 0))
