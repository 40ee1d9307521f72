#!/usr/bin/env bash
# lab/run-systemd.sh - one boot of the real systemd guest (Debian bookworm, systemd 252) on a virtiofs root,
# as bcvk boots it: fresh copy of the root, fresh virtiofsd, QEMU q35 TCG.
#
#   lab/run-systemd.sh --daemon rust|c --cache never|metadata --kernel 6.1|new --smp N --mem 1024M \
#                      --image healthy|loop|block [--karg X]... --timeout T --out DIR
#
# Images (one cached root, lab/build-systemd-root.sh; the hang units are enabled per boot on the kernel command line):
#   healthy  boots to multi-user.target, vfs-lab-poweroff.service powers off 3 s later
#   loop     + systemd.wants=vfs-lab-loop.service: a oneshot before multi-user.target stats two paths forever
#   block    + systemd.wants=vfs-lab-block.service: a oneshot before multi-user.target sleeps forever
# Outputs in DIR: virtiofsd.log, console.txt (raw, CRLF), console.host-stamped.log, journal.json (virtserialport
# org.bcvk.journal, chardev file append=on, as bcvk's --log-dir=journal=), qemu.stderr, summary.txt.
# Exit status 0 when the guest reached multi-user.target and powered off cleanly, 1 otherwise, 2 on setup errors.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${LAB_CACHE:-$REPO/.lab-cache}
DAEMON=rust CACHEMODE=never KERNEL=new SMP=1 MEM=1024M IMAGE=healthy KARGS= TIMEOUT=180 OUT=
usage() { sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --daemon) DAEMON=$2; shift 2 ;;
    --cache) CACHEMODE=$2; shift 2 ;;
    --kernel) KERNEL=$2; shift 2 ;;
    --smp) SMP=$2; shift 2 ;;
    --mem) MEM=$2; shift 2 ;;
    --image) IMAGE=$2; shift 2 ;;
    --karg) KARGS="${KARGS:+$KARGS }$2"; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) usage ;;
    *) echo "run-systemd: unknown argument $1" >&2; usage ;;
  esac
done
[ -n "$OUT" ] || { echo "run-systemd: --out DIR is required" >&2; exit 2; }
[ -f "$CACHE/env.sh" ] || { echo "run-systemd: $CACHE/env.sh missing, run lab/provision.sh first" >&2; exit 2; }
CACHE=$(cd "$CACHE" && pwd)
# shellcheck source=/dev/null
. "$CACHE/env.sh"
# shellcheck source=lib-systemd.sh
. "$REPO/lab/lib-systemd.sh"
TAR=$CACHE/systemd-root.tar
sd_check_root || exit 2
sd_kernel "$KERNEL" || { echo "run-systemd: --kernel must be 6.1 or new" >&2; exit 2; }
VMLINUZ=$SD_VMLINUZ INITRD=$SD_INITRD KV=$SD_KV
IKARG=$(sd_image_karg "$IMAGE") || { echo "run-systemd: --image must be healthy, loop or block" >&2; exit 2; }

mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
rm -f "$OUT"/{virtiofsd.log,virtiofsd.log.gz,virtiofsd.stdout,console.txt,console.host-stamped.log,journal.json} \
      "$OUT"/{qemu.stderr,summary.txt}
W=$(mktemp -d /tmp/vfs-lab-sd.XXXXXX)
D=$W/root S=$W/vfs.sock
VPID= QPID= TPID_FILE=$W/timeout.pid R1=

# ---- process hygiene: every PID we start is tracked and ended here (as lab/run-vm.sh) ---------------
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
release_fifo() { exec 9<>"$1"; exec 9>&-; }   # unblocks a reader stuck in open(2)
cleanup() {
  trap - EXIT INT TERM HUP
  # end the daemon before QEMU is told to quit (a stopped daemon blocks QEMU's vhost-user shutdown)
  if alive "$VPID"; then kill -KILL "$VPID" 2>/dev/null; fi
  local tp; tp=$(cat "$TPID_FILE" 2>/dev/null)
  if alive "$tp"; then kill -TERM "$tp" 2>/dev/null; fi
  if alive "$QPID"; then
    for _ in $(seq 50); do alive "$QPID" || break; sleep 0.1; done
    alive "$tp" && kill -KILL "$tp" 2>/dev/null
    [ -n "$tp" ] && pkill -KILL -P "$tp" 2>/dev/null; alive "$QPID" && kill -KILL "$QPID" 2>/dev/null
  fi
  if alive "$R1"; then release_fifo "$W/con.out"; sleep 0.2; alive "$R1" && kill "$R1" 2>/dev/null; fi
  { wait; } 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT
trap 'echo "run-systemd: interrupted" >&2; exit 130' INT TERM HUP

now_iso() { local t=$EPOCHREALTIME; TZ=UTC printf '%(%Y-%m-%d %H:%M:%S)T.%s+0000' "${t%.*}" "${t#*.}"; }

# ---- a fresh copy of the root, per boot ------------------------------------------------------------
X0=$EPOCHREALTIME
sd_extract_root "$D" || { echo "run-systemd: extracting $TAR failed" >&2; exit 2; }
XS=$(awk -v a="$X0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')

# ---- virtiofsd (bcvk's flags + debug log) ------------------------------------------------------------
case "$DAEMON" in
  rust)
    RC=$CACHEMODE; [ "$RC" = none ] && RC=never
    VCMD=("$LAB_RUST_LD" --library-path "$LAB_RUST_LIB" "$LAB_RUST_BIN" --socket-path "$S" --shared-dir "$D"
          --cache "$RC" --allow-mmap --inode-file-handles=fallback --sandbox none --log-level debug)
    DVER=$LAB_RUST_VERSION ;;
  c)
    CC=$CACHEMODE; XOPT=()
    case "$CC" in never) CC=none ;; metadata) CC=none; XOPT=(-o timeout=86400) ;; esac
    VCMD=("$LAB_C_BIN" --socket-path="$S" -o source="$D" -o cache="$CC" "${XOPT[@]}" -o log_level=debug
          -o sandbox=chroot -f)
    DVER=$LAB_C_VERSION ;;
  *) echo "run-systemd: --daemon must be rust or c" >&2; exit 2 ;;
esac
T0=$EPOCHREALTIME VSTART=$(now_iso)
"${VCMD[@]}" > "$OUT/virtiofsd.stdout" 2> "$OUT/virtiofsd.log" &
VPID=$!
for _ in $(seq 100); do [ -S "$S" ] && break; alive "$VPID" || break; sleep 0.05; done
if [ ! -S "$S" ]; then echo "run-systemd: virtiofsd socket did not appear; log:" >&2; cat "$OUT/virtiofsd.log" >&2; exit 2; fi

# ---- console reader: raw copy + host timestamps (vm-lab.md section 7) ----------------------------------
mkfifo "$W/con.in" "$W/con.out"
stamp_reader() {   # fifo raw stamped
  export TZ=UTC
  exec 3< "$1" 4> "$2" 5> "$3"
  local l t
  while IFS= read -r l <&3 || [ -n "$l" ]; do t=$EPOCHREALTIME
    printf '%s\n' "$l" >&4
    printf '[%(%Y-%m-%d %H:%M:%S)T.%s+0000] %s\n' "${t%.*}" "${t#*.}" "${l%$'\r'}" >&5
  done
}
stamp_reader "$W/con.out" "$OUT/console.txt" "$OUT/console.host-stamped.log" & R1=$!

# ---- QEMU (q35, TCG, bcvk-like devices) ---------------------------------------------------------------
APPEND="console=ttyS0 systemd.show_status=1 panic=-1 lab.tag=rootfs${IKARG:+ $IKARG}${KARGS:+ $KARGS}"
QCMD=(qemu-system-x86_64 -machine q35 -accel tcg -cpu max -smp "$SMP" -m "$MEM"
  -object memory-backend-memfd,id=mem,size="$MEM",share=on -numa node,memdev=mem
  -chardev socket,id=vfs,path="$S" -device vhost-user-fs-pci,queue-size=1024,chardev=vfs,tag=rootfs
  -device virtio-serial-pci
  -chardev file,id=journal,path="$OUT/journal.json",append=on
  -device virtserialport,chardev=journal,name=org.bcvk.journal
  -chardev pipe,id=con,path="$W/con" -serial chardev:con
  -kernel "$VMLINUZ" -initrd "$INITRD" -append "$APPEND"
  -display none -monitor none -no-reboot)
TIMECMD=(); [ -x /usr/bin/time ] && TIMECMD=(/usr/bin/time -f %M -o "$W/qemu.rss")
QSTART=$(now_iso)
"${TIMECMD[@]}" bash -c 'echo $$ > "$0"; exec timeout "$@"' "$TPID_FILE" "$TIMEOUT" "${QCMD[@]}" 2> "$OUT/qemu.stderr" &
QPID=$!
wait "$QPID"; QRC=$?
QEND=$(now_iso); T1=$EPOCHREALTIME
# virtiofsd exits by itself when QEMU disconnects; give it 2 s, then end it
for _ in $(seq 40); do alive "$VPID" || break; sleep 0.05; done
VKILLED=0
if alive "$VPID"; then VKILLED=1; kill -CONT "$VPID" 2>/dev/null; kill -TERM "$VPID" 2>/dev/null; sleep 1
  alive "$VPID" && kill -KILL "$VPID" 2>/dev/null; fi
{ wait "$VPID"; } 2>/dev/null; VRC=$?
for _ in $(seq 40); do alive "$R1" || break; sleep 0.05; done
alive "$R1" && release_fifo "$W/con.out"
wait "$R1" 2>/dev/null

# ---- verdict of the run and summary -------------------------------------------------------------------
ST=$OUT/console.host-stamped.log
first_host() { grep -a -m1 -E "$1" "$ST" 2>/dev/null | cut -c2-32; }
GOAL=$(first_host 'Reached target .*multi-user\.target')
POWER=$(first_host 'reboot: Power down')
LOOPS=$(first_host 'vfs-lab-loop: start')
BLOCKS=$(first_host 'vfs-lab-block: start')
WALL=$(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.2f", b - a }')
{
  echo "daemon=$DAEMON ($DVER) cache=$CACHEMODE image=$IMAGE kernel=$KV smp=$SMP mem=$MEM timeout=$TIMEOUT accel=tcg"
  echo "virtiofsd_cmd=${VCMD[*]}" | sed "s|$W|\$W|g; s|$CACHE|\$LAB_CACHE|g"
  echo "kernel_cmdline=$APPEND"
  echo "guest=Debian bookworm minbase, $(tr '\t\n' '= ' < "$CACHE/systemd-root.versions" 2>/dev/null)"
  echo "qemu=$LAB_QEMU_VERSION"
  echo "qemu_rc=$QRC virtiofsd_rc=$VRC virtiofsd_killed_by_harness=$VKILLED"
  echo "wall_s=$WALL root_extract_s=$XS"
  echo "virtiofsd_start_host=$VSTART qemu_start_host=$QSTART qemu_end_host=$QEND"
  echo "goal_reached_host=${GOAL:-none} poweroff_host=${POWER:-none} loop_start_host=${LOOPS:-none} block_start_host=${BLOCKS:-none}"
  [ -s "$W/qemu.rss" ] && echo "qemu_peak_rss_kb=$(tail -n1 "$W/qemu.rss")"
  echo "virtiofsd_log_bytes=$(stat -c %s "$OUT/virtiofsd.log") lines=$(wc -l < "$OUT/virtiofsd.log")"
  echo "journal_json_lines=$(wc -l < "$OUT/journal.json" 2>/dev/null || echo 0)"
  "$REPO/lab/summarize.sh" "$OUT"
} > "$OUT/summary.txt"
cat "$OUT/summary.txt"
[ -s "$OUT/virtiofsd.stdout" ] || rm -f "$OUT/virtiofsd.stdout"
[ -n "$GOAL" ] && [ -n "$POWER" ] && [ "$QRC" = 0 ] && exit 0
exit 1
