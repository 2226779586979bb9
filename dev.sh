#!/usr/bin/env bash
# Set up everything netwatch needs on this machine, then run it or its tests.
#
#   sudo ./dev.sh run [netwatch arguments]   set up, then start netwatch
#   sudo ./dev.sh test [pytest arguments]    set up, then lint and run the whole test suite
#   sudo ./dev.sh test-kernels               the kprobe backend's end-to-end tests on Debian's 6.1 kernel (qemu)
#   sudo ./dev.sh bench                      set up, then run every benchmark into bench/RESULTS.md
#   sudo ./dev.sh setup                      set up only (idempotent)
#
# Setup: the distribution's BCC (python3-bpfcc / python3-bcc: BCC is not on PyPI, and PyPI's
# "bcc" is an unrelated package), kernel headers, tracefs, a venv at .venv made from the system
# Python so it sees BCC, the project installed into it, and /usr/local/bin/netwatch.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
venv="$here/.venv"
release=$(uname -r)

say() { printf 'netwatch setup: %s\n' "$*" >&2; }
loud() { printf '\n*** netwatch setup: %s\n\n' "$*" >&2; }
die() { printf 'netwatch setup: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (sudo $0 $*): it installs packages and loads BPF programs"

apt_install() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

apt_has() { apt-cache show "$1" >/dev/null 2>&1; }

# Headers for the running kernel; on a kernel with no headers package (a custom VM kernel), the
# distribution's generic headers, linked in as this kernel's build directory. BCC only needs them
# to compile; the probe takes every struct offset it uses from the running kernel's BTF instead.
headers_debian() {
  local modules="/lib/modules/$release"
  [ -e "$modules/build/include/linux/kconfig.h" ] || [ -e "$modules/source/include/linux/kconfig.h" ] && return 0
  [ -f /sys/kernel/kheaders.tar.xz ] && return 0
  if apt_has "linux-headers-$release"; then
    apt_install "linux-headers-$release"
    return 0
  fi
  local generic=linux-headers-amd64
  apt_has "$generic" || generic=linux-headers-generic
  apt_has "$generic" || die "no kernel headers package for $release and no generic one"
  apt_install "$generic"
  local donor
  donor=$(find /lib/modules -mindepth 2 -maxdepth 2 -name build ! -path "/lib/modules/$release/*" | sort -V | tail -n 1)
  [ -n "$donor" ] || die "$generic installed no /lib/modules/*/build"
  donor=$(dirname "$donor")
  loud "kernel $release has no headers package: linking the headers of $(basename "$donor") as its build and source directories (the documented fallback)"
  mkdir -p "/lib/modules/$release"
  for link in build source; do
    [ -e "$donor/$link" ] && ln -sfn "$(readlink -f "$donor/$link")" "/lib/modules/$release/$link"
  done
}

system_packages() {
  if command -v apt-get >/dev/null; then
    apt_install python3 python3-venv python3-bpfcc tmux util-linux
    apt_install bpftool || say "no bpftool package: the detach tests will say so"  # tests check nothing stays attached
    headers_debian
  elif command -v dnf >/dev/null; then
    dnf install -y -q python3 python3-bcc tmux "kernel-devel-$release"
  else
    die "unsupported distribution: install BCC's Python module, kernel headers and tmux by hand"
  fi
}

mount_tracefs() {
  [ -d /sys/kernel/tracing/events ] && return 0
  say "mounting tracefs at /sys/kernel/tracing"
  mount -t tracefs nodev /sys/kernel/tracing
}

python_env() {
  # The distribution's Python, whose site-packages hold BCC (not whichever python3 is first on PATH).
  local python=/usr/bin/python3
  [ -x "$venv/bin/python" ] || { say "creating $venv"; "$python" -m venv --system-site-packages "$venv"; }
  local stamp="$venv/.installed" digest
  digest=$(sha256sum "$here/pyproject.toml" | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
    say "installing netwatch and its test tools into $venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -e "$here[test]"
    echo "$digest" >"$stamp"
  fi
  local command=/usr/local/bin/netwatch
  if [ "$(readlink "$command" 2>/dev/null)" != "$venv/bin/netwatch" ]; then
    if [ -e "$command" ] || [ -L "$command" ]; then
      say "$command pointed to $(readlink "$command" || echo a file); now to this checkout"
    fi
    ln -sfn "$venv/bin/netwatch" "$command"
    say "linked $command -> $venv/bin/netwatch"
  fi
}

setup() {
  system_packages
  mount_tracefs
  python_env
}

command=${1:-run}
shift || true
case "$command" in
  setup) setup ;;
  run) setup; exec "$venv/bin/netwatch" "$@" ;;
  test)
    setup
    cd "$here"
    "$venv/bin/ruff" check .
    "$venv/bin/ruff" format --check .
    exec "$venv/bin/pytest" "$@"
    ;;
  test-kernels) exec "$here/tests/vm/run-kernel-matrix.sh" "$@" ;;
  bench)
    setup
    apt_install iperf3 nethogs gcc libc6-dev  # gcc: bench/send_loop.c
    cd "$here"
    exec "$venv/bin/python" -m bench.run_all "$@"
    ;;
  *) die "unknown command '$command' (use: run, test, test-kernels, bench, setup)" ;;
esac
