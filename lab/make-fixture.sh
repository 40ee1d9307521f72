#!/usr/bin/env bash
# lab/make-fixture.sh NAME EXPECTED "NOTES" -- RUN-VM-ARGS...
# Runs lab/run-vm.sh into fixtures/lab/NAME, gzips the daemon log and writes truth.json.
# EXPECTED: livelock|deadlock|stall|healthy|busy. NOTES: free text (no double quotes).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NAME=${1:?NAME}; EXPECTED=${2:?EXPECTED}; NOTES=${3:-}; shift 3
[ "${1:-}" = -- ] && shift
DEST=$REPO/fixtures/lab/$NAME
if [ -e "$DEST" ] && [ "${FORCE:-0}" != 1 ]; then echo "make-fixture: $DEST exists (FORCE=1 to redo)" >&2; exit 2; fi
rm -rf "$DEST"; mkdir -p "$DEST"
set +e; "$REPO/lab/run-vm.sh" "$@" --out "$DEST" > /dev/null; RC=$?; set -e
gzip -9 -f "$DEST/virtiofsd.log"
[ -s "$DEST/virtiofsd.stdout" ] || rm -f "$DEST/virtiofsd.stdout"
[ -s "$DEST/qemu.stderr" ] || rm -f "$DEST/qemu.stderr"
S=$DEST/summary.txt
get() { sed -n "s/^.*\b$1=\([^ ]*\).*$/\1/p" "$S" | head -n1; }
arg() { local k=$1; shift; while [ $# -gt 0 ]; do [ "$1" = "$k" ] && { echo "$2"; return; }; shift; done; }
daemon=$(arg --daemon "$@"); cache=$(arg --cache "$@"); workload=$(arg --workload "$@")
case "$daemon" in rust) dv=rust-1.13.2 ;; c) dv=c-7.2 ;; *) dv=$daemon ;; esac
# workloadStartHost: host time of the guest's "<workload>: start" line; loopStartHost: the same, for loops only
ws=$(sed -n 's/^start_marker_host=\([0-9-]*\) \([0-9:.]*\)+0000 .*/\1T\2Z/p' "$S")
m=; grep -qE '^start_marker_host=.*\] (livelock|loop3|enoent): start$' "$S" && m=$ws
stall=$(sed -n 's/^stall_sigstop_host=\([0-9-]*\) \([0-9:.]*\)+0000/\1T\2Z/p' "$S")
jstr() { if [ -n "$1" ]; then printf "\"%s\"" "$1"; else printf null; fi; }
q() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }
cat > "$DEST/truth.json" <<JSON
{
  "daemon": "$dv",
  "cache": "$cache",
  "workload": "$workload",
  "expected": "$EXPECTED",
  "loopStartHost": $(jstr "$m"),
  "workloadStartHost": $(jstr "$ws"),
  "stallSigstopHost": $(jstr "$stall"),
  "requestsTotal": $(get requests_total),
  "unansweredAtEnd": $(get unanswered_requests),
  "destroySeen": $( [ "$(get destroy_seen)" = 1 ] && echo true || echo false),
  "guestPoweroff": $( [ "$(get guest_poweroff_line)" = 1 ] && echo true || echo false),
  "qemuRc": $(get qemu_rc),
  "virtiofsdRc": $(get virtiofsd_rc),
  "command": "$(q "lab/run-vm.sh $* --out fixtures/lab/$NAME")",
  "notes": "$(q "$NOTES")"
}
JSON
echo "== $NAME (run-vm rc=$RC, $(du -sh "$DEST" | cut -f1))"; grep -E '^(qemu_rc|wall_s|requests_total|replies_|unanswered|destroy|requests_by_opcode|errors_by|start_marker|stall_)' "$S"
