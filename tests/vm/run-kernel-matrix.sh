#!/usr/bin/env bash
# Prove the kprobe backend on a kernel that has kprobes: boot Debian 12's stock kernel (6.1) under
# qemu with virtme-ng and run the kprobe backend's end-to-end tests inside it, with this tree and
# its venv (the guest sees the host's filesystem read-only). Exits with the guest's pytest status.
#
#   sudo tests/vm/run-kernel-matrix.sh [pytest arguments]
#
# Default pytest arguments: tests/vm/test_kprobe_backend_e2e.py tests/probe/test_kprobe_backend.py
# tests/probe/test_zombie_leader.py tests/probe/test_socket_reuse.py tests/probe/test_connection_counts.py
# tests/probe/test_exec.py -q (the last four prove the exit hook of kernels before 6.16, that a socket
# starting there drops a dead one's entry, that a connect() there is seen at once, and that the
# kprobe backend's process entries count execs as the tracepoint one's do)
# Installs what it needs (idempotent): ./dev.sh setup (venv, BCC, headers), qemu-system-x86,
# busybox-static, the linux-image matching the installed linux-headers-amd64, and virtme-ng in .venv.
# The guest runs without KVM (KVM guests do not boot on this CI VM): about 1-3 minutes in all.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
venv="$root/.venv"
memory=${NETWATCH_VM_MEMORY:-2G}
limit=${NETWATCH_VM_TIMEOUT:-900}  # seconds for the whole guest run

say() { printf 'kernel-matrix: %s\n' "$*" >&2; }
die() { printf 'kernel-matrix: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root: it installs packages and the guest loads BPF programs"
command -v apt-get >/dev/null || die "needs Debian/Ubuntu (apt-get): the guest kernel is Debian's"

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

apt_install() {
  local missing=() package
  for package in "$@"; do installed "$package" || missing+=("$package"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The kernel ABI (e.g. 6.1.0-56-amd64) that linux-headers-amd64 currently points at.
headers_abi() {
  dpkg-query -W -f='${Depends}' linux-headers-amd64 | grep -o 'linux-headers-[^ ,]*-amd64' | head -n 1 |
    sed 's/^linux-headers-//'
}

# The guest kernel image, of exactly the version of the installed headers (BCC compiles against them).
guest_kernel() {
  apt_install linux-headers-amd64
  local abi
  abi=$(headers_abi)
  [ -n "$abi" ] || die "cannot tell which kernel linux-headers-amd64 is for"
  if ! installed "linux-image-$abi"; then
    if apt-cache show "linux-image-$abi" >/dev/null 2>&1; then
      apt_install "linux-image-$abi"
    else  # that ABI is gone from the archive: move headers and image to the current one together
      say "linux-image-$abi is no longer available: upgrading linux-headers-amd64 and linux-image-amd64"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        linux-headers-amd64 linux-image-amd64 >/dev/null
      abi=$(headers_abi)
    fi
  fi
  [ -f "/boot/vmlinuz-$abi" ] || die "/boot/vmlinuz-$abi is missing after installing linux-image-$abi"
  [ -d "/lib/modules/$abi/build/include" ] || die "no headers at /lib/modules/$abi/build"
  echo "$abi"
}

setup() {
  "$root/dev.sh" setup
  if ! installed qemu-system-x86 || ! installed busybox-static; then
    apt-get update -qq
    apt_install qemu-system-x86 busybox-static
  fi
  [ -x "$venv/bin/vng" ] || { say "installing virtme-ng into $venv"; "$venv/bin/pip" install -q virtme-ng; }
}

setup
kernel=$(guest_kernel)
[ $# -gt 0 ] || set -- tests/vm/test_kprobe_backend_e2e.py tests/probe/test_kprobe_backend.py \
  tests/probe/test_zombie_leader.py tests/probe/test_socket_reuse.py tests/probe/test_connection_counts.py \
  tests/probe/test_exec.py -q

# In the guest: / is the host's, read-only (hence no bytecode and no pytest cache), /tmp is a
# writable overlay. The host's environment is not passed in; NETWATCH_KERNEL_MATRIX stays unset
# there, so tests/vm/test_kernel_matrix.py cannot start a VM inside the VM.
guest_script=$(
  cat <<EOF
cd $(printf '%q' "$root") || exit 125
[ -d /sys/kernel/tracing/events ] || mount -t tracefs nodev /sys/kernel/tracing || exit 125
echo "kernel-matrix: guest kernel \$(uname -r), \$(nproc) CPUs"
# The guest's /var is the host's, read-only: the probe cache goes to /tmp, so that the first compile
# serves every later attach in the guest (and is put back there, through kprobes, by a test).
export NETWATCH_PROBE_CACHE=/tmp/netwatch-probe-cache
PYTHONDONTWRITEBYTECODE=1 .venv/bin/python -m pytest -p no:cacheprovider $(printf '%q ' "$@")
status=\$?
echo "kernel-matrix: guest pytest exit status \$status"
exit \$status
EOF
)

say "booting /boot/vmlinuz-$kernel under qemu (no KVM), ${memory} memory, 2 CPUs"
started=$SECONDS
set +e
PATH="$venv/bin:$PATH" timeout --kill-after=30 "$limit" \
  vng --disable-kvm --run "/boot/vmlinuz-$kernel" --memory "$memory" --cpus 2 --exec "$guest_script" </dev/null
status=$?
set -e
say "guest run took $((SECONDS - started)) s, exit status $status"
[ "$status" -ne 124 ] || say "the guest run exceeded ${limit} s and was stopped"
exit "$status"
