# lab/lib-systemd.sh - pieces of the systemd guest shared by lab/run-systemd.sh and lab/bcvk-double/bcvk
# (sourced, bash). Needs CACHE (the lab cache folder, absolute) and its env.sh already sourced.
#
#   sd_check_root                 1 with a message on stderr when build-systemd-root.sh has not run
#   sd_image_karg IMAGE           the kernel argument that makes the image (healthy | loop | block), or 1
#   sd_kernel KERNEL              sets SD_VMLINUZ SD_INITRD SD_KV for 6.1 | new
#   sd_extract_root DEST [PIDVAR] a fresh copy of the root into DEST (tar in the background, so INT/TERM traps run;
#                                 its pid goes to the function named by PIDVAR first, e.g. the double's tracker)

sd_check_root() {
  [ -s "$CACHE/systemd-root.tar" ] && [ -s "$CACHE/initramfs-sysroot.cpio.gz" ] \
    && [ -s "$CACHE/initramfs-sysroot-nomod.cpio.gz" ] && return 0
  echo "no systemd root in $CACHE: run lab/build-systemd-root.sh first" >&2
  return 1
}

sd_image_karg() {
  case "$1" in
    healthy) echo "" ;;
    loop) echo "systemd.wants=vfs-lab-loop.service" ;;
    block) echo "systemd.wants=vfs-lab-block.service" ;;
    *) return 1 ;;
  esac
}

sd_kernel() {
  case "$1" in
    6.1|default) SD_VMLINUZ=$LAB_VMLINUZ SD_INITRD=$CACHE/initramfs-sysroot.cpio.gz SD_KV=$LAB_KV ;;
    new|fusetrace) SD_VMLINUZ=$LAB_FT_VMLINUZ SD_INITRD=$CACHE/initramfs-sysroot-nomod.cpio.gz SD_KV=$LAB_FT_KV ;;
    *) return 1 ;;
  esac
}

sd_extract_root() {
  local dest=$1 track=${2:-} pid
  mkdir -p "$dest" || return 1
  tar -C "$dest" --numeric-owner -xpf "$CACHE/systemd-root.tar" &
  pid=$!
  [ -n "$track" ] && "$track" "$pid" tar
  wait "$pid"
}
