#!/usr/bin/env bash
# lab/ci-e2e.sh - provision the VM lab (QEMU, kernel, busybox, trixie virtiofsd into .lab-cache), build the systemd
# guest root (lab/build-systemd-root.sh: debootstrap from Debian's archive, ~40 s-3 min, cached) and run the real
# end-to-end tests (`npm run e2e`: vfs-analyze run through lab/bcvk-double, real QEMU TCG VMs).
# Called from .ci/run. Needs root (or sudo) for apt-get and debootstrap; idempotent and fast once provisioned.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
if [ "$(id -u)" = 0 ]; then
  lab/provision.sh
  lab/build-systemd-root.sh
elif command -v sudo >/dev/null 2>&1; then
  sudo --preserve-env=LAB_CACHE,LAB_REFRESH lab/provision.sh
  sudo --preserve-env=LAB_CACHE,LAB_REFRESH,LAB_DEBIAN_MIRROR lab/build-systemd-root.sh
else
  echo "lab/ci-e2e.sh: lab/provision.sh and lab/build-systemd-root.sh need root (no sudo found)" >&2
  exit 2
fi
[ -d node_modules ] || npm ci
npm run e2e
