#!/usr/bin/env bash
# lab/make-systemd-fixture.sh NAME EXPECTED "NOTES" -- RUN-SYSTEMD-ARGS...
# Runs lab/run-systemd.sh into fixtures/lab/NAME, gzips the daemon log and writes truth.json.
# EXPECTED: livelock|deadlock|stall|healthy|busy. NOTES: free text.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NAME=${1:?NAME}; EXPECTED=${2:?EXPECTED}; NOTES=${3:-}; shift 3
[ "${1:-}" = -- ] && shift
DEST=$REPO/fixtures/lab/$NAME
RC=-
if [ "${TRUTH_ONLY:-0}" != 1 ]; then   # TRUTH_ONLY=1: rewrite truth.json of an existing capture
  if [ -e "$DEST" ] && [ "${FORCE:-0}" != 1 ]; then echo "make-systemd-fixture: $DEST exists (FORCE=1 to redo)" >&2; exit 2; fi
  rm -rf "$DEST"; mkdir -p "$DEST"
  set +e; "$REPO/lab/run-systemd.sh" "$@" --out "$DEST" > /dev/null; RC=$?; set -e
  gzip -9 -f "$DEST/virtiofsd.log"
fi
[ -s "$DEST/qemu.stderr" ] || rm -f "$DEST/qemu.stderr"
S=$DEST/summary.txt
get() { sed -n "s/^.*\b$1=\([^ ]*\).*$/\1/p" "$S" | head -n1; }
arg() { local k=$1 v=; shift; while [ $# -gt 0 ]; do [ "$1" = "$k" ] && v=$2; shift; done; echo "$v"; }
kargs() { local out=; while [ $# -gt 0 ]; do [ "$1" = --karg ] && out="$out${out:+ }$2"; shift; done; echo "$out"; }
daemon=$(arg --daemon "$@"); cache=$(arg --cache "$@"); kernel=$(arg --kernel "$@"); smp=$(arg --smp "$@")
image=$(arg --image "$@")
case "$daemon" in rust) dv=rust-1.13.2 ;; c) dv=c-7.2 ;; *) dv=$daemon ;; esac
kv=$(sed -n 's/^daemon=.* kernel=\([^ ]*\) .*/\1/p' "$S")
# host-stamped console "YYYY-MM-DD HH:MM:SS.ffffff+0000" -> ISO UTC
iso() { case "$1" in ""|none) printf null ;; *) local d=${1%+0000}; printf '"%sT%sZ"' "${d% *}" "${d#* }" ;; esac; }
hv() { sed -n "s/^.*\b$1=\([0-9-]* [0-9:.]*+0000\).*$/\1/p" "$S" | head -n1; }
# the loop/block marker may be missing from the console (systemd's stdout goes to the journal): fall back to
# journal.json's __REALTIME_TIMESTAMP (guest clock, seeded from the host's RTC at boot)
jtime() {
  [ -s "$DEST/journal.json" ] || return 0
  grep -a -m1 "\"MESSAGE\":\"$1\"" "$DEST/journal.json" | sed -n 's/.*"__REALTIME_TIMESTAMP":"\([0-9]*\)".*/\1/p' \
    | while read -r us; do printf '%s.%06d+0000\n' "$(date -u -d "@$((us / 1000000))" '+%F %T')" $((us % 1000000)); done || true
}
loop=$(hv loop_start_host); lsrc=console; [ -n "$loop" ] || { loop=$(jtime 'vfs-lab-loop: start'); lsrc=journal; }
block=$(hv block_start_host); bsrc=console; [ -n "$block" ] || { block=$(jtime 'vfs-lab-block: start'); bsrc=journal; }
[ -n "$loop" ] || lsrc=null; [ -n "$block" ] || bsrc=null
q() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }
num() { local v; v=$(get "$1"); echo "${v:-null}"; }
cat > "$DEST/truth.json" <<JSON
{
  "daemon": "$dv",
  "cache": "$cache",
  "kernel": "$kv",
  "smp": ${smp:-1},
  "kargs": "$(q "$(kargs "$@")")",
  "image": "${image:-healthy}",
  "expected": "$EXPECTED",
  "goalReachedHost": $(iso "$(hv goal_reached_host)"),
  "poweroffHost": $(iso "$(hv poweroff_host)"),
  "loopStartHost": $(iso "$loop"),
  "loopStartSource": $( [ "$lsrc" = null ] && echo null || echo "\"$lsrc\""),
  "blockStartHost": $(iso "$block"),
  "blockStartSource": $( [ "$bsrc" = null ] && echo null || echo "\"$bsrc\""),
  "virtiofsdStartHost": $(iso "$(hv virtiofsd_start_host)"),
  "qemuEndHost": $(iso "$(hv qemu_end_host)"),
  "requestsTotal": $(num requests_total),
  "errors": $(num replies_error),
  "destroySeen": $( [ "$(get destroy_seen)" = 1 ] && echo true || echo false),
  "qemuRc": $(num qemu_rc),
  "virtiofsdRc": $(num virtiofsd_rc),
  "command": "$(q "lab/run-systemd.sh $* --out fixtures/lab/$NAME")",
  "notes": "$(q "$NOTES")"
}
JSON
echo "== $NAME (run-systemd rc=$RC, $(du -sh "$DEST" | cut -f1))"
grep -E '^(qemu_rc|wall_s|goal_reached|requests_total|replies_|destroy|requests_by_opcode|requests_by_pid|errors_by)' "$S" | cut -c1-400
