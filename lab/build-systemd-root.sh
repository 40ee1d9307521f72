#!/usr/bin/env bash
# lab/build-systemd-root.sh - build (once) the real systemd guest root that lab/run-systemd.sh boots from a
# virtiofs share: Debian bookworm minbase + systemd 252, the kind of guest bcvk boots (vm-lab.md section 11).
#
#   lab/build-systemd-root.sh            # cached: $LAB_CACHE/systemd-root.tar (+ initramfs-sysroot*.cpio.gz)
#   LAB_REFRESH=1 lab/build-systemd-root.sh
#
# Needs root, debootstrap (installed if missing) and the Debian archive; lab/provision.sh must have run.
# The tar holds:
#   - debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,udev,kmod bookworm, apt-get clean
#   - the modules trees of both lab kernels (bookworm 6.1 and trixie-backports' newer one) + depmod
#   - serial-getty@ttyS0.service masked (else the getty takes the console and systemd stops printing status)
#   - journald Storage=persistent (drop-in), /var/log/journal
#   - bcvk-journal-stream.service: journalctl -f --since=@0 -o json to /dev/virtio-ports/org.bcvk.journal
#   - vfs-lab-vport-link.service: makes that symlink from sysfs (udev can be too late under TCG)
#   - vfs-lab-poweroff.service: after multi-user.target, marker to /dev/kmsg, 3 s, systemctl --no-block poweroff
#   - vfs-lab-loop.service, vfs-lab-block.service: installed but not enabled; a boot enables one with the kernel
#     argument systemd.wants=vfs-lab-loop.service (lab/run-systemd.sh --image loop|block)
# The initramfs (lab/guest/init-sysroot) mounts the tag at /newroot and switch_roots to /sbin/init.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
C=${LAB_CACHE:-$REPO/.lab-cache}
[ -f "$C/env.sh" ] || { echo "build-systemd-root: run lab/provision.sh first" >&2; exit 2; }
C=$(cd "$C" && pwd)
# shellcheck source=/dev/null
. "$C/env.sh"
LOGP() { printf '[build-systemd-root] %s\n' "$*" >&2; }
TAR=$C/systemd-root.tar
MIRROR=${LAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}

# ---- 1. the root tar -----------------------------------------------------------------------------
# the key covers this script (units are written here) and the two kernels
key=$( { cat "${BASH_SOURCE[0]}"; echo "$LAB_KV $LAB_FT_KV"; } | sha256sum | cut -d' ' -f1)
if [ "${LAB_REFRESH:-0}" = 1 ] || [ ! -s "$TAR" ] || [ "$(cat "$TAR.key" 2>/dev/null)" != "$key" ]; then
  [ "$(id -u)" = 0 ] || { echo "build-systemd-root: needs root" >&2; exit 1; }
  if ! command -v debootstrap >/dev/null 2>&1; then
    LOGP "apt-get install debootstrap"; apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  fi
  R=$C/systemd-root.tmp; rm -rf "$R"; mkdir -p "$R"
  t0=$SECONDS
  LOGP "debootstrap bookworm (minbase + systemd) into $R"
  debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,udev,kmod bookworm "$R" "$MIRROR" \
    > "$C/systemd-root.debootstrap.log" 2>&1 || { tail -n 30 "$C/systemd-root.debootstrap.log" >&2; exit 1; }
  chroot "$R" apt-get clean
  rm -rf "$R"/var/lib/apt/lists/*_Packages "$R"/var/lib/apt/lists/*_InRelease 2>/dev/null || true

  # modules of both lab kernels (6.1 needs them for udev/modprobe; the new one has virtio/fuse built in)
  K=$C/systemd-root.kmod; rm -rf "$K"; mkdir -p "$K"
  dpkg -x "$(ls "$C"/debs/linux-image-*-cloud-amd64_*.deb | head -n1)" "$K"
  for d in "$C"/fusetrace/debs/*.deb; do dpkg -x "$d" "$K"; done
  mkdir -p "$R/usr/lib/modules"
  for md in "$K"/lib/modules/* "$K"/usr/lib/modules/*; do
    [ -d "$md" ] || continue
    kv=${md##*/}; mkdir -p "$R/usr/lib/modules/$kv"; cp -a "$md/." "$R/usr/lib/modules/$kv/"
    rm -f "$R/usr/lib/modules/$kv/vmlinuz"
    chroot "$R" depmod -a "$kv" || LOGP "depmod $kv failed"
  done
  rm -rf "$K"

  # identity, console, journal
  echo lab > "$R/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 lab\n' > "$R/etc/hosts"
  : > "$R/etc/machine-id"                       # first boot: systemd generates one per boot
  printf '# virtiofs root, mounted by the initramfs\n' > "$R/etc/fstab"
  ln -sf /dev/null "$R/etc/systemd/system/serial-getty@ttyS0.service"
  mkdir -p "$R/etc/systemd/journald.conf.d" "$R/var/log/journal"
  printf '[Journal]\nStorage=persistent\n' > "$R/etc/systemd/journald.conf.d/10-vfs-lab-persistent.conf"

  U=$R/etc/systemd/system
  cat > "$U/bcvk-journal-stream.service" <<'UNIT'
[Unit]
Description=Stream the journal to the host (bcvk-style, virtio-serial org.bcvk.journal)
DefaultDependencies=no
StartLimitIntervalSec=0

[Service]
ExecStart=/usr/bin/journalctl -f --since=@0 -o json --no-pager
StandardOutput=file:/dev/virtio-ports/org.bcvk.journal
StandardError=file:/dev/virtio-ports/org.bcvk.journal
Restart=always
RestartSec=1

[Install]
WantedBy=sysinit.target
UNIT
  # lab aid: under TCG on a loaded host udev can come up so late (or time out its workers) that the
  # /dev/virtio-ports/org.bcvk.journal symlink never appears and the stream above restarts until power-off
  # with an empty journal.json. Make the symlink from sysfs, as udev's 50-udev-default.rules would.
  cat > "$U/vfs-lab-vport-link.service" <<'UNIT'
[Unit]
Description=vfs-lab: /dev/virtio-ports/org.bcvk.journal without waiting for udev
DefaultDependencies=no
Before=bcvk-journal-stream.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'for i in $$(seq 100); do for e in /sys/class/virtio-ports/*; do [ -f "$$e/name" ] && [ "$$(cat "$$e/name")" = org.bcvk.journal ] && [ -c "/dev/$${e##*/}" ] && { mkdir -p /dev/virtio-ports; ln -sf "../$${e##*/}" /dev/virtio-ports/org.bcvk.journal; exit 0; }; done; sleep 0.1; done; exit 0'

[Install]
WantedBy=sysinit.target
UNIT
  cat > "$U/vfs-lab-poweroff.service" <<'UNIT'
[Unit]
Description=vfs-lab: power off once multi-user.target is reached
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'read up _ </proc/uptime; echo "vfs-lab-poweroff: multi-user.target reached at uptime $${up}s, powering off in 3 s" >/dev/kmsg; sleep 3; systemctl --no-block poweroff'

[Install]
WantedBy=multi-user.target
UNIT
  cat > "$U/vfs-lab-loop.service" <<'UNIT'
[Unit]
Description=vfs-lab: stat two paths forever (what the bcvk #90 journald loop looks like from virtiofsd)
Before=multi-user.target

[Service]
Type=oneshot
TimeoutStartSec=infinity
ExecStart=/bin/sh -c 'echo "vfs-lab-loop: start"; while :; do [ -e /var/lib/vfs-lab/a ]; [ -e /var/lib/vfs-lab/dir/b ]; done'

[Install]
WantedBy=multi-user.target
UNIT
  cat > "$U/vfs-lab-block.service" <<'UNIT'
[Unit]
Description=vfs-lab: block forever without filesystem traffic
Before=multi-user.target

[Service]
Type=oneshot
TimeoutStartSec=infinity
ExecStart=/bin/sh -c 'echo "vfs-lab-block: start"; exec sleep infinity'

[Install]
WantedBy=multi-user.target
UNIT
  mkdir -p "$R/var/lib/vfs-lab/dir"; echo a > "$R/var/lib/vfs-lab/a"; echo b > "$R/var/lib/vfs-lab/dir/b"
  chroot "$R" systemctl enable bcvk-journal-stream.service vfs-lab-vport-link.service vfs-lab-poweroff.service
  chroot "$R" systemctl disable vfs-lab-loop.service vfs-lab-block.service 2>/dev/null || true
  chroot "$R" dpkg-query -W systemd udev dbus kmod > "$C/systemd-root.versions"
  LOGP "pack $(du -sh "$R" | cut -f1) into $TAR"
  tar -C "$R" --numeric-owner -cf "$TAR.tmp" .
  mv "$TAR.tmp" "$TAR"; echo "$key" > "$TAR.key"; rm -rf "$R"
  LOGP "root built in $((SECONDS - t0)) s"
fi

# ---- 2. the switch_root initramfs (one with the 6.1 modules, one without for the new kernel) ----------
BB=$C/busybox/bin/busybox; [ -x "$BB" ] || BB=$C/busybox/usr/bin/busybox
ikey=$( { cat "$REPO/lab/guest/init-sysroot"; ls "$C"/kernel/modules; echo "$LAB_KV"; } | sha256sum | cut -d' ' -f1)
if [ ! -s "$C/initramfs-sysroot.cpio.gz" ] || [ ! -s "$C/initramfs-sysroot-nomod.cpio.gz" ] \
   || [ "$(cat "$C/initramfs-sysroot.key" 2>/dev/null)" != "$ikey" ]; then
  LOGP "build the switch_root initramfs"
  I=$C/initramfs-sysroot-root; rm -rf "$I"
  mkdir -p "$I"/{bin,proc,sys,dev,newroot,lib/modules}
  cp "$BB" "$I/bin/busybox"; ln -s busybox "$I/bin/sh"
  install -m 755 "$REPO/lab/guest/init-sysroot" "$I/init"
  mknod -m 600 "$I/dev/console" c 5 1 2>/dev/null || true
  mknod -m 666 "$I/dev/null" c 1 3 2>/dev/null || true
  (cd "$I" && find . | "$BB" cpio -o -H newc 2>/dev/null | gzip -1) > "$C/initramfs-sysroot-nomod.cpio.gz"
  cp "$C"/kernel/modules/*.ko "$I/lib/modules/"
  (cd "$I" && find . | "$BB" cpio -o -H newc 2>/dev/null | gzip -1) > "$C/initramfs-sysroot.cpio.gz"
  rm -rf "$I"; echo "$ikey" > "$C/initramfs-sysroot.key"
fi
ls -la "$TAR" "$C/initramfs-sysroot.cpio.gz" "$C/initramfs-sysroot-nomod.cpio.gz" >&2
