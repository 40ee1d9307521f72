#!/usr/bin/env bash
# lab/run-vm.sh - one lab run: fresh virtiofsd + QEMU (TCG) busybox guest on a virtiofs share.
#
#   lab/run-vm.sh --daemon rust|c --cache never|metadata|auto|always|none --workload W \
#                 --secs N --timeout T --out DIR [--stall-after S] [--mem 256M] [--files N] [--karg X]...
#                 [--kernel default|fusetrace]
#
# Workloads: walk livelock loop3 enoent unpack silentloop idle (run in the guest, see lab/guest/init), and two
# host-side scenarios: hang (livelock for 1000 s, ended by --timeout) and stall (livelock; virtiofsd
# is SIGSTOPped --stall-after seconds after QEMU starts and SIGKILLed 1 s before --timeout).
# Outputs in DIR: virtiofsd.log, console.txt (raw, CRLF), console.host-stamped.log, debug-port.txt,
# debug-port.host-stamped.log, qemu.stderr, summary.txt. Exit status 0 when the guest printed its
# "poweroff" marker, 1 otherwise (expected for hang/stall), 2 on usage/setup errors.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${LAB_CACHE:-$REPO/.lab-cache}
DAEMON=rust CACHEMODE=never WORKLOAD=walk SECS=3 TIMEOUT=60 OUT= STALL_AFTER=5 MEM=256M FILES=2000 KARGS= KERNEL=default
usage() { sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --daemon) DAEMON=$2; shift 2 ;;
    --cache) CACHEMODE=$2; shift 2 ;;
    --workload) WORKLOAD=$2; shift 2 ;;
    --secs) SECS=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --stall-after) STALL_AFTER=$2; shift 2 ;;
    --mem) MEM=$2; shift 2 ;;
    --files) FILES=$2; shift 2 ;;
    --karg) KARGS="${KARGS:+$KARGS }$2"; shift 2 ;;
    --kernel) KERNEL=$2; shift 2 ;;
    -h|--help) usage ;;
    *) echo "run-vm: unknown argument $1" >&2; usage ;;
  esac
done
[ -n "$OUT" ] || { echo "run-vm: --out DIR is required" >&2; exit 2; }
[ -f "$CACHE/env.sh" ] || { echo "run-vm: $CACHE/env.sh missing, run lab/provision.sh first" >&2; exit 2; }
# shellcheck source=/dev/null
. "$CACHE/env.sh"

# the guest kernel: bookworm's 6.1 (default) or trixie-backports' (fuse tracepoints; drivers built in)
case "$KERNEL" in
  default) ;;
  fusetrace) [ -n "${LAB_FT_VMLINUZ:-}" ] && [ -f "$LAB_FT_VMLINUZ" ] || { echo "run-vm: no fusetrace kernel, run lab/provision.sh" >&2; exit 2; }
    LAB_VMLINUZ=$LAB_FT_VMLINUZ LAB_INITRD=$LAB_FT_INITRD LAB_KV=$LAB_FT_KV ;;
  *) echo "run-vm: unknown --kernel $KERNEL" >&2; exit 2 ;;
esac
case "$WORKLOAD" in
  walk|livelock|loop3|enoent|unpack|silentloop|idle) GW=$WORKLOAD GSECS=$SECS ;;
  hang|stall) GW=livelock GSECS=1000 ;;
  *) echo "run-vm: unknown workload $WORKLOAD" >&2; exit 2 ;;
esac
if [ "$WORKLOAD" = stall ] && [ "$TIMEOUT" -le $((STALL_AFTER + 1)) ]; then
  echo "run-vm: stall needs --timeout > --stall-after + 1" >&2; exit 2; fi

mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
rm -f "$OUT"/{virtiofsd.log,virtiofsd.log.gz,virtiofsd.stdout,console.txt,console.host-stamped.log} \
      "$OUT"/{debug-port.txt,debug-port.host-stamped.log,qemu.stderr,summary.txt,probe.txt}
W=$(mktemp -d /tmp/vfs-lab.XXXXXX)
D=$W/share S=$W/vfs.sock
VPID= QPID= TPID_FILE=$W/timeout.pid STALLPID= R1= R2=

# ---- process hygiene: every PID we start is tracked and ended here --------------------------
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
release_fifo() { exec 9<>"$1"; exec 9>&-; }   # unblocks a reader stuck in open(2)
cleanup() {
  trap - EXIT INT TERM HUP
  alive "$STALLPID" && kill "$STALLPID" 2>/dev/null
  # a stopped virtiofsd blocks QEMU's vhost-user shutdown: end the daemon before QEMU (obstacle 12)
  if alive "$VPID"; then kill -KILL "$VPID" 2>/dev/null; fi
  local tp; tp=$(cat "$TPID_FILE" 2>/dev/null)
  if alive "$tp"; then kill -TERM "$tp" 2>/dev/null; fi
  if alive "$QPID"; then
    for _ in $(seq 50); do alive "$QPID" || break; sleep 0.1; done
    alive "$tp" && kill -KILL "$tp" 2>/dev/null
    [ -n "$tp" ] && pkill -KILL -P "$tp" 2>/dev/null; alive "$QPID" && kill -KILL "$QPID" 2>/dev/null
  fi
  if alive "$R1" || alive "$R2"; then
    release_fifo "$W/con.out"; release_fifo "$W/dbg.out"; sleep 0.2
    for r in "$R1" "$R2"; do alive "$r" && kill "$r" 2>/dev/null; done
  fi
  { wait; } 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT
trap 'echo "run-vm: interrupted" >&2; exit 130' INT TERM HUP

now_iso() { local t=$EPOCHREALTIME; TZ=UTC printf '%(%Y-%m-%d %H:%M:%S)T.%s+0000' "${t%.*}" "${t#*.}"; }

# ---- shared directory, fresh per run ---------------------------------------------------------
mkdir -p "$D/dir" "$D/tree/x/y"
echo a > "$D/a"; echo b > "$D/dir/b"; echo hello-from-host > "$D/hello.txt"
for i in 1 2 3 4 5; do echo "f$i" > "$D/tree/x/y/f$i"; done

# ---- virtiofsd -------------------------------------------------------------------------------
case "$DAEMON" in
  rust)
    RC=$CACHEMODE; [ "$RC" = none ] && RC=never
    VCMD=("$LAB_RUST_LD" --library-path "$LAB_RUST_LIB" "$LAB_RUST_BIN" --shared-dir "$D" --socket-path "$S"
          --sandbox none --log-level debug --cache "$RC")
    DVER=$LAB_RUST_VERSION ;;
  c)
    CC=$CACHEMODE; XOPT=()
    case "$CC" in never) CC=none ;; metadata) CC=none; XOPT=(-o timeout=86400) ;; esac
    VCMD=("$LAB_C_BIN" --socket-path="$S" -o source="$D" -o cache="$CC" "${XOPT[@]}" -o log_level=debug
          -o sandbox=chroot -f)
    DVER=$LAB_C_VERSION ;;
  *) echo "run-vm: --daemon must be rust or c" >&2; exit 2 ;;
esac
T0=$EPOCHREALTIME
"${VCMD[@]}" > "$OUT/virtiofsd.stdout" 2> "$OUT/virtiofsd.log" &
VPID=$!
for _ in $(seq 100); do [ -S "$S" ] && break; alive "$VPID" || break; sleep 0.05; done
if [ ! -S "$S" ]; then echo "run-vm: virtiofsd socket did not appear; log:" >&2; cat "$OUT/virtiofsd.log" >&2; exit 2; fi

# ---- guest output readers: raw copy + host timestamps (FIFO variant) ---------------------------
mkfifo "$W/con.in" "$W/con.out" "$W/dbg.in" "$W/dbg.out"
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
stamp_reader "$W/dbg.out" "$OUT/debug-port.txt" "$OUT/debug-port.host-stamped.log" & R2=$!

# ---- QEMU ------------------------------------------------------------------------------------
APPEND="console=ttyS0 panic=-1 lab.workload=$GW lab.secs=$GSECS lab.tag=labfs lab.files=$FILES${KARGS:+ $KARGS}"
QCMD=(qemu-system-x86_64 -machine q35 -accel tcg -cpu max -smp 1 -m "$MEM"
  -object memory-backend-memfd,id=mem,size="$MEM",share=on -numa node,memdev=mem
  -chardev socket,id=vfs,path="$S" -device vhost-user-fs-pci,chardev=vfs,tag=labfs
  -device virtio-serial-pci
  -chardev pipe,id=dbg,path="$W/dbg" -device virtserialport,chardev=dbg,name=debug
  -chardev file,id=prb,path="$OUT/probe.txt" -device virtserialport,chardev=prb,name=org.vfsprobe
  -chardev pipe,id=con,path="$W/con" -serial chardev:con
  -kernel "$LAB_VMLINUZ" -initrd "$LAB_INITRD" -append "$APPEND"
  -display none -monitor none -no-reboot)
TIMECMD=(); [ -x /usr/bin/time ] && TIMECMD=(/usr/bin/time -f %M -o "$W/qemu.rss")
QSTART=$(now_iso)
"${TIMECMD[@]}" bash -c 'echo $$ > "$0"; exec timeout "$@"' "$TPID_FILE" "$TIMEOUT" "${QCMD[@]}" 2> "$OUT/qemu.stderr" &
QPID=$!

STALL_AT= KILL_AT=
if [ "$WORKLOAD" = stall ]; then
  (
    trap 'kill $sp 2>/dev/null; exit 0' TERM
    sleep "$STALL_AFTER" & sp=$!; wait $sp
    kill -STOP "$VPID" 2>/dev/null && echo "stall_sigstop_host=$(now_iso)" >> "$W/stall.txt"
    sleep $((TIMEOUT - STALL_AFTER - 1)) & sp=$!; wait $sp
    kill -KILL "$VPID" 2>/dev/null && echo "stall_sigkill_host=$(now_iso)" >> "$W/stall.txt"
  ) &
  STALLPID=$!
fi

wait "$QPID"; QRC=$?
# with /usr/bin/time the status is time's; it passes the child's status through
QEND=$(now_iso); T1=$EPOCHREALTIME
if alive "$STALLPID"; then kill "$STALLPID" 2>/dev/null; fi
wait "$STALLPID" 2>/dev/null
# virtiofsd exits by itself when QEMU disconnects; give it 2 s, then end it
for _ in $(seq 40); do alive "$VPID" || break; sleep 0.05; done
VKILLED=0
if alive "$VPID"; then VKILLED=1; kill -CONT "$VPID" 2>/dev/null; kill -TERM "$VPID" 2>/dev/null; sleep 1
  alive "$VPID" && kill -KILL "$VPID" 2>/dev/null; fi
{ wait "$VPID"; } 2>/dev/null; VRC=$?
# readers end at EOF when QEMU closes the pipes; release them if QEMU never opened them
for _ in $(seq 40); do alive "$R1" || alive "$R2" || break; sleep 0.05; done
if alive "$R1" || alive "$R2"; then release_fifo "$W/con.out"; release_fifo "$W/dbg.out"; fi
wait "$R1" "$R2" 2>/dev/null

WALL=$(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.2f", b - a }')
{
  echo "daemon=$DAEMON ($DVER) cache=$CACHEMODE workload=$WORKLOAD guest_workload=$GW secs=$GSECS timeout=$TIMEOUT mem=$MEM accel=tcg${FILES:+ files=$FILES}"
  echo "virtiofsd_cmd=${VCMD[*]}" | sed "s|$W|\$W|g; s|$CACHE|\$LAB_CACHE|g"
  echo "kernel=$LAB_KV qemu=$LAB_QEMU_VERSION"
  echo "qemu_rc=$QRC virtiofsd_rc=$VRC virtiofsd_killed_by_harness=$VKILLED"
  echo "wall_s=$WALL"
  echo "qemu_start_host=$QSTART qemu_end_host=$QEND"
  [ -f "$W/stall.txt" ] && cat "$W/stall.txt"
  [ -s "$W/qemu.rss" ] && echo "qemu_peak_rss_kb=$(tail -n1 "$W/qemu.rss")"
  echo "virtiofsd_log_bytes=$(stat -c %s "$OUT/virtiofsd.log") lines=$(wc -l < "$OUT/virtiofsd.log")"
  "$REPO/lab/summarize.sh" "$OUT"
} > "$OUT/summary.txt"
cat "$OUT/summary.txt"
grep -q '^\[guest [0-9.]*\] poweroff' "$OUT/console.txt" 2>/dev/null && exit 0
exit 1
