#!/usr/bin/env bash
# lab/fault-inject.sh - launcher faults against the real lab: `vfs-analyze run` through the bcvk double (real QEMU TCG
# busybox guest, real Rust virtiofsd 1.13.2), one fault at a time, one VM at a time. Per fault it prints the exit
# code, the processes left (must be 0: anything whose environment carries the fault's BCVK_DOUBLE_STATE, i.e.
# vfs-analyze, its guard, bcvk, its subshells, virtiofsd, QEMU, a descendant that left the group) and the run
# records written, with each record's stop reason, outcome and bcvk exit code.
#
#   lab/fault-inject.sh [FAULT...]      default: all of them, in this order
#
#   sigint     SIGINT to vfs-analyze 8 s into a looping guest        expect 130, 1 record (interrupted), 0 left
#   sigterm    SIGTERM, same                                         expect 130, 1 record (interrupted), 0 left
#   sighup     SIGHUP, same                                          expect 130, 1 record (interrupted), 0 left
#   sigkill    SIGKILL, same: no cleanup possible in vfs-analyze;    expect 137, 0 records, 0 left (parent-death
#              then a second run on the same reports folder            signal + guard), and the second run says in
#                                                                     one line what it swept
#   qemu-kill  SIGKILL to QEMU 8 s in (a crashed VM)                 expect 5 (every run an error), 1 record
#                                                                     (error, "the VM crashed …"), 0 left
#   timeout    --timeout 12 on a guest that loops 60 s               expect 0, 1 record (timeout), 0 left
#   leftover   the double leaves an untracked `setsid sleep` behind  expect 0, 1 record with a real exitCode, one
#              (another session, holding bcvk's stdout/stderr)         stderr line naming what was killed, 0 left
#
# Needs lab/provision.sh (and root, as the lab). Each fault takes 15-40 s.
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${LAB_CACHE:-$REPO/.lab-cache}
# shellcheck source=/dev/null
. "$CACHE/env.sh"
export VFS_REAL_VIRTIOFSD="[\"$LAB_RUST_LD\",\"--library-path\",\"$LAB_RUST_LIB\",\"$LAB_RUST_BIN\"]"
export BCVK_DOUBLE_MAX_SECS=300
[ -f "$REPO/dist/cli/main.js" ] || (cd "$REPO" && npm run build --silent)
CLI=${VFS_ANALYZE_CLI:-$REPO/bin/vfs-analyze.js}
FAULTS=("$@")
[ ${#FAULTS[@]} -gt 0 ] || FAULTS=(sigint sigterm sighup sigkill qemu-kill timeout leftover)
WORK=$(mktemp -d /tmp/vfs-faults.XXXXXX)
FAILED=0

# processes whose environment carries this state folder (vfs-analyze passes its environment down to everything)
left() {   # state
  local f p out=()
  for f in $(grep -lzxF -- "BCVK_DOUBLE_STATE=$1" /proc/[0-9]*/environ 2>/dev/null); do
    p=${f#/proc/}; p=${p%/environ}
    [ "$p" = "$$" ] || [ "$p" = "$BASHPID" ] && continue
    out+=("$p:$(cat "/proc/$p/comm" 2>/dev/null)")
  done
  echo "${#out[@]} ${out[*]}"
}
records() {   # reports
  local n=0 r
  for r in "$1"/runs/*/record.json; do
    [ -f "$r" ] || continue
    n=$((n + 1))
    node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));
      const l=r.launch?.stop?.leftovers?.killed?.length ?? 0;
      console.log(`    record: stop ${r.stopReason}, outcome ${r.outcome.kind} (${r.outcome.title}), bcvk exitCode ${r.exitCode}` +
        (l ? `, leftovers killed ${l}` : ""))' "$r"
  done
  echo "    records written: $n"
}
# start vfs-analyze run in the background: $1 name, then extra arguments
launch() {
  local name=$1; shift
  STATE=$(mktemp -d /tmp/bd-XXXXXX) REPORTS=$WORK/$name
  mkdir -p "$REPORTS"
  BCVK_DOUBLE_STATE=$STATE node "$CLI" run localhost/lab-image --compare cache=never \
    --bcvk "$REPO/lab/bcvk-double/bcvk" --podman "$REPO/lab/bcvk-double/podman" --reports "$REPORTS" "$@" \
    > "$WORK/$name.out" 2> "$WORK/$name.err" &
  PID=$!
}
# wait until the double's "container" exists, then $1 more seconds
settle() {
  local i
  for i in $(seq 600); do
    compgen -G "$STATE/vfs-analyze-*/pid" > /dev/null && break
    kill -0 "$PID" 2>/dev/null || return
    sleep 0.1
  done
  sleep "$1"
}
finish() {   # name expected-rc
  local name=$1 want=$2 rc t0=$SECONDS
  wait "$PID"; rc=$?
  sleep 2   # the guard's SIGTERM → SIGKILL window (after a SIGKILL of vfs-analyze) and reaping
  read -r n procs < <(left "$STATE")
  local ok=ok
  [ "$rc" = "$want" ] && [ "$n" = 0 ] || { ok=FAIL; FAILED=$((FAILED + 1)); }
  printf '%-10s %s: exit %s (expected %s), processes left %s%s\n' "$name" "$ok" "$rc" "$want" "$n" "${procs:+ ($procs)}"
  records "$REPORTS"
  sed -n 's/^vfs-analyze: /    stderr: /p' "$WORK/$name.err" | grep -v 'note: the real virtiofsd' | cut -c1-240
}

for fault in "${FAULTS[@]}"; do
  case $fault in
    sigint|sigterm|sighup)
      launch "$fault" --karg lab.workload=livelock --karg lab.secs=60 --timeout 90
      settle 8; kill -"${fault#sig}" "$PID"; finish "$fault" 130 ;;
    sigkill)
      launch sigkill --karg lab.workload=livelock --karg lab.secs=60 --timeout 90
      settle 8; kill -KILL "$PID"; finish sigkill 137
      echo "    active-run files left for the next run: $(ls "$REPORTS/.active-runs" 2>/dev/null | wc -l)"
      # the next run on the same reports folder sweeps what the killed one left (a short healthy boot)
      BCVK_DOUBLE_STATE=$STATE node "$CLI" run localhost/lab-image --compare cache=metadata \
        --bcvk "$REPO/lab/bcvk-double/bcvk" --podman "$REPO/lab/bcvk-double/podman" --reports "$REPORTS" \
        --karg lab.workload=walk --timeout 60 > "$WORK/sweep.out" 2> "$WORK/sweep.err"
      rc=$?
      sleep 1
      read -r n procs < <(left "$STATE")
      ok=ok; [ "$rc" = 0 ] && [ "$n" = 0 ] || { ok=FAIL; FAILED=$((FAILED + 1)); }
      printf '%-10s %s: next run exit %s, processes left %s%s, active-run files left %s\n' sweep "$ok" "$rc" "$n" \
        "${procs:+ ($procs)}" "$(ls "$REPORTS/.active-runs" 2>/dev/null | wc -l)"
      grep -E 'earlier run' "$WORK/sweep.err" | sed 's/^vfs-analyze: /    stderr: /' | cut -c1-300 ;;
    qemu-kill)
      launch qemu-kill --karg lab.workload=livelock --karg lab.secs=60 --timeout 90
      settle 8; pkill -KILL -f "qemu-system-x86_64.*$STATE"; finish qemu-kill 5 ;;
    timeout)
      launch timeout --karg lab.workload=livelock --karg lab.secs=60 --timeout 12
      finish timeout 0 ;;
    leftover)
      BCVK_DOUBLE_LEAVE_DESCENDANT=1 launch leftover --karg lab.workload=walk --timeout 60
      finish leftover 0 ;;
    *) echo "unknown fault $fault (sigint sigterm sighup sigkill qemu-kill timeout leftover)" >&2; exit 2 ;;
  esac
  rm -rf "$STATE"
done
echo "faults: ${#FAULTS[@]}, failed: $FAILED (outputs in $WORK)"
[ "$FAILED" = 0 ]
