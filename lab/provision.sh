#!/usr/bin/env bash
# lab/provision.sh - install and cache everything the VM lab needs (idempotent).
#
#   lab/provision.sh            # provision into $LAB_CACHE (default: <repo>/.lab-cache)
#   LAB_REFRESH=1 lab/provision.sh   # re-resolve and re-download the debs
#
# Needs root (apt-get install) and network access to the Debian archive. See lab/README.md.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
C=${LAB_CACHE:-$REPO/.lab-cache}
mkdir -p "$C"
C=$(cd "$C" && pwd)
LOGP() { printf '[provision] %s\n' "$*" >&2; }

# --- 1. host packages --------------------------------------------------------------------------
need_pkgs=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || need_pkgs+=(qemu-system-x86)
[ -x /usr/lib/qemu/virtiofsd ] || need_pkgs+=(qemu-system-common)
[ -x /usr/bin/time ] || need_pkgs+=(time)
command -v gzip >/dev/null 2>&1 || need_pkgs+=(gzip)
command -v pkill >/dev/null 2>&1 || need_pkgs+=(procps)
APT_UPDATED=0
apt_update() { if [ $APT_UPDATED = 0 ]; then LOGP "apt-get update"; apt-get update -qq; APT_UPDATED=1; fi; }
if [ ${#need_pkgs[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "provision: need root to install ${need_pkgs[*]}" >&2; exit 1; }
  apt_update
  LOGP "apt-get install ${need_pkgs[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

# --- 2. bookworm debs: cloud kernel + busybox-static (downloaded, never installed) ---------------
DEBS=$C/debs; mkdir -p "$DEBS"
if [ "${LAB_REFRESH:-0}" = 1 ] || ! ls "$DEBS"/linux-image-*-cloud-amd64_*.deb >/dev/null 2>&1 \
   || ! ls "$DEBS"/busybox-static_*.deb >/dev/null 2>&1; then
  KPKG=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}' || true)
  if [ -z "$KPKG" ]; then apt_update
    KPKG=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-/{print $2; exit}'); fi
  [ -n "$KPKG" ] || { echo "provision: cannot resolve the cloud kernel package" >&2; exit 1; }
  LOGP "apt-get download $KPKG busybox-static"
  rm -f "$DEBS"/linux-image-*.deb "$DEBS"/busybox-static_*.deb
  (cd "$DEBS" && apt-get download -qq "$KPKG" busybox-static 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true)
  ls "$DEBS"/linux-image-*.deb "$DEBS"/busybox-static_*.deb >/dev/null
  rm -rf "$C/kernel" "$C/busybox"
fi
KDEB=$(ls "$DEBS"/linux-image-*-cloud-amd64_*.deb | head -n1)
BDEB=$(ls "$DEBS"/busybox-static_*.deb | head -n1)

# --- 3. trixie: Rust virtiofsd + its glibc, via a private apt configuration ----------------------
A=$C/trixie-apt; X=$C/trixie
if [ "${LAB_REFRESH:-0}" = 1 ] || [ ! -x "$X/usr/libexec/virtiofsd" ]; then
  rm -rf "$A" "$X"
  mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$A/dl" "$X"
  echo 'deb http://deb.debian.org/debian trixie main' > "$A/trixie.list"
  O=(-o "Dir::Etc::SourceList=$A/trixie.list" -o Dir::Etc::SourceParts=/dev/null
     -o "Dir::State::Lists=$A/lists" -o "Dir::Cache=$A/cache")
  LOGP "trixie: apt-get update (private state in $A)"
  apt-get "${O[@]}" update -qq
  LOGP "trixie: apt-get download virtiofsd libc6 libseccomp2 libcap-ng0 libgcc-s1"
  (cd "$A/dl" && apt-get "${O[@]}" download -qq virtiofsd libc6 libseccomp2 libcap-ng0 libgcc-s1 2>&1 \
     | grep -v '^W: Download is performed unsandboxed' >&2 || true)
  for d in "$A"/dl/*.deb; do dpkg -x "$d" "$X"; done
  rm -rf "$A/lists" "$A/cache"     # keep only the debs (small) for the record
fi
RUST_LD=$X/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
RUST_LIB=$X/usr/lib/x86_64-linux-gnu
RUST_BIN=$X/usr/libexec/virtiofsd

# --- 3b. a guest kernel WITH the fuse tracepoints (fs/fuse/fuse_trace.h, Linux >= 6.16): trixie-backports' cloud
# kernel (7.3 when written; fuse, virtiofs and the virtio drivers are built in, so it boots the same initramfs without
# modules). Bookworm's 6.1 has no fuse tracepoints.
F=$C/fusetrace
if [ "${LAB_REFRESH:-0}" = 1 ] || [ ! -f "$F/vmlinuz" ]; then
  FA=$C/bpo-apt; rm -rf "$FA" "$F"
  mkdir -p "$FA/lists/partial" "$FA/cache/archives/partial" "$FA/dl"
  echo 'deb http://deb.debian.org/debian trixie-backports main' > "$FA/bpo.list"
  O2=(-o "Dir::Etc::SourceList=$FA/bpo.list" -o Dir::Etc::SourceParts=/dev/null
      -o "Dir::State::Lists=$FA/lists" -o "Dir::Cache=$FA/cache")
  LOGP "trixie-backports: apt-get update (private state in $FA)"
  apt-get "${O2[@]}" update -qq
  FKPKG=$(apt-cache "${O2[@]}" depends linux-image-cloud-amd64 | awk '/Depends: linux-image-/{print $2; exit}')
  [ -n "$FKPKG" ] || { echo "provision: cannot resolve the trixie-backports cloud kernel" >&2; exit 1; }
  # newer kernel packages split the image: linux-binary-V (vmlinuz, config under /usr/lib/modules/V/), linux-base-V
  FV=${FKPKG#linux-image-}; FPKGS=("$FKPKG")
  for extra in "linux-binary-$FV" "linux-base-$FV"; do
    apt-cache "${O2[@]}" show "$extra" >/dev/null 2>&1 && FPKGS+=("$extra")
  done
  LOGP "trixie-backports: apt-get download ${FPKGS[*]}"
  (cd "$FA/dl" && apt-get "${O2[@]}" download -qq "${FPKGS[@]}" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true)
  K=$C/fusetrace.tmp; rm -rf "$K"; mkdir -p "$K"
  for d in "$FA"/dl/*.deb; do dpkg -x "$d" "$K"; done
  fvz=$(find "$K" -type f \( -name "vmlinuz-$FV" -o -path "*/modules/$FV/vmlinuz" \) | head -n1)
  fcf=$(find "$K" -type f \( -name "config-$FV" -o -path "*/modules/$FV/config" \) | head -n1)
  [ -n "$fvz" ] && [ -n "$fcf" ] || { echo "provision: no vmlinuz/config in ${FPKGS[*]}" >&2; exit 1; }
  for o in CONFIG_FUSE_FS=y CONFIG_VIRTIO_FS=y CONFIG_VIRTIO_PCI=y CONFIG_VIRTIO_CONSOLE=y CONFIG_EVENT_TRACING=y; do
    grep -qx "$o" "$fcf" || { echo "provision: $FKPKG lacks $o" >&2; exit 1; }
  done
  mkdir -p "$F.new/debs"; cp "$fvz" "$F.new/vmlinuz"; echo "$FV" > "$F.new/version"
  cp "$FA"/dl/*.deb "$F.new/debs/"   # for the record (versions.txt)
  rm -rf "$K" "$FA"; mv "$F.new" "$F"
fi
FT_KV=$(cat "$F/version")

# --- 4. unpack kernel and busybox -------------------------------------------------------------
MODS="drivers/virtio/virtio_ring.ko drivers/virtio/virtio.ko drivers/virtio/virtio_pci_legacy_dev.ko
drivers/virtio/virtio_pci_modern_dev.ko drivers/virtio/virtio_pci.ko drivers/char/virtio_console.ko
fs/fuse/fuse.ko fs/fuse/virtiofs.ko"   # load order matters (docs: vm-lab.md 4)
if [ ! -d "$C/kernel" ]; then
  LOGP "unpack $(basename "$KDEB") (keeping vmlinuz and 8 modules)"
  K=$C/kernel.tmp; rm -rf "$K"; mkdir -p "$K"; dpkg -x "$KDEB" "$K"
  kv=$(ls "$K"/boot/vmlinuz-* | head -n1); kv=${kv##*/vmlinuz-}
  md=$K/lib/modules/$kv/kernel; [ -d "$md" ] || md=$K/usr/lib/modules/$kv/kernel
  mkdir -p "$C/kernel.new/boot" "$C/kernel.new/modules"
  cp "$K/boot/vmlinuz-$kv" "$C/kernel.new/boot/"
  for m in $MODS; do cp "$md/$m" "$C/kernel.new/modules/"; done
  rm -rf "$K"; mv "$C/kernel.new" "$C/kernel"
fi
if [ ! -d "$C/busybox" ]; then LOGP "unpack $(basename "$BDEB")"; mkdir -p "$C/busybox"; dpkg -x "$BDEB" "$C/busybox"; fi
VMLINUZ=$(ls "$C"/kernel/boot/vmlinuz-* | head -n1)
KV=${VMLINUZ##*/vmlinuz-}
BB=$C/busybox/bin/busybox
[ -x "$BB" ] || BB=$C/busybox/usr/bin/busybox

# --- 5. initramfs (rebuilt when lab/guest/init or the inputs change) -------------------------
INITRD=$C/initramfs.cpio.gz
key=$( { cat "$REPO/lab/guest/init" "$REPO/probe/vfs-probe.sh"; echo "$KV $(basename "$BDEB") $MODS"; } | sha256sum | cut -d' ' -f1)
if [ ! -s "$INITRD" ] || [ "$(cat "$C/initramfs.key" 2>/dev/null)" != "$key" ]; then
  LOGP "build initramfs"
  R=$C/initramfs-root; rm -rf "$R"
  mkdir -p "$R"/{bin,proc,sys,dev,mnt,newroot,lib/modules}
  cp "$BB" "$R/bin/busybox"; ln -s busybox "$R/bin/sh"
  for m in $MODS; do cp "$C/kernel/modules/${m##*/}" "$R/lib/modules/"; done
  install -m 755 "$REPO/lab/guest/init" "$R/init"
  install -m 755 "$REPO/probe/vfs-probe.sh" "$R/bin/vfs-probe"   # started by /init with lab.probe=1
  mknod -m 600 "$R/dev/console" c 5 1 2>/dev/null || true
  mknod -m 666 "$R/dev/null" c 1 3 2>/dev/null || true
  (cd "$R" && find . | "$BB" cpio -o -H newc 2>/dev/null | gzip -1) > "$INITRD.tmp"
  mv "$INITRD.tmp" "$INITRD"; echo "$key" > "$C/initramfs.key"
  rm -f "$C/initramfs-fusetrace.cpio.gz"
fi
FT_INITRD=$C/initramfs-fusetrace.cpio.gz
if [ ! -s "$FT_INITRD" ]; then   # the same root without modules (the fusetrace kernel has the drivers built in)
  LOGP "build initramfs for the fusetrace kernel"
  R2=$C/initramfs-ft-root; rm -rf "$R2"; cp -a "$C/initramfs-root" "$R2"; rm -f "$R2"/lib/modules/*.ko
  (cd "$R2" && find . | "$BB" cpio -o -H newc 2>/dev/null | gzip -1) > "$FT_INITRD.tmp"
  mv "$FT_INITRD.tmp" "$FT_INITRD"; rm -rf "$R2"
fi

# --- 6. record --------------------------------------------------------------------------------
QEMU_V=$(qemu-system-x86_64 --version | head -n1)
C_V=$(/usr/lib/qemu/virtiofsd --version 2>&1 | head -n1 || true)
R_V=$("$RUST_LD" --library-path "$RUST_LIB" "$RUST_BIN" --version 2>&1 | head -n1)
debver() { dpkg-deb --show --showformat='${Package}=${Version}\n' "$1"; }
cat > "$C/env.sh" <<ENV
# generated by lab/provision.sh; sourced by lab/run-vm.sh
LAB_VMLINUZ='$VMLINUZ'
LAB_INITRD='$INITRD'
LAB_KV='$KV'
LAB_FT_VMLINUZ='$F/vmlinuz'
LAB_FT_INITRD='$FT_INITRD'
LAB_FT_KV='$FT_KV'
LAB_RUST_LD='$RUST_LD'
LAB_RUST_LIB='$RUST_LIB'
LAB_RUST_BIN='$RUST_BIN'
LAB_C_BIN='/usr/lib/qemu/virtiofsd'
LAB_QEMU_VERSION='$QEMU_V'
LAB_C_VERSION='$C_V'
LAB_RUST_VERSION='$R_V'
ENV
{
  echo "cache:        $C"
  echo "qemu:         $(command -v qemu-system-x86_64) ($QEMU_V)"
  echo "C daemon:     /usr/lib/qemu/virtiofsd ($C_V)"
  echo "Rust daemon:  $RUST_BIN ($R_V) via $RUST_LD"
  echo "kernel:       $VMLINUZ ($KV)"
  echo "fuse tracing: $F/vmlinuz ($FT_KV, for lab/run-vm.sh --kernel fusetrace)"
  echo "initramfs:    $INITRD ($(stat -c %s "$INITRD") bytes)"
  echo "debs:"; for d in "$DEBS"/*.deb "$A"/dl/*.deb "$F"/debs/*.deb; do echo "  $(debver "$d")"; done
} | tee "$C/versions.txt"
