# shellcheck shell=bash
# Sourced by tools/setup.sh and tools/vmtest.sh (each defines log()): apt_install_missing
# installs those of its Debian packages that are not installed yet, as root or through sudo.
# Returns non-zero when apt-get fails.
apt_install_missing() {
  local missing=() pkg sudo=""
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  [ "$(id -u)" = 0 ] || sudo="sudo"
  log "installing ${missing[*]}"
  $sudo apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
}
