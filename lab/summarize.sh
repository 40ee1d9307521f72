#!/usr/bin/env bash
# lab/summarize.sh DIR - independent counts (grep/awk only) over DIR/virtiofsd.log[.gz] and the guest output.
# Prints key=value lines; run-vm.sh appends them to summary.txt. Works on both daemons' debug formats:
#   Rust: "... virtiofsd::server] Received request: opcode=Getattr (3), inode=1, unique=4, pid=95"
#         "... Replying OK, header: OutHeader { len: 120, error: 0, unique: 4 }"
#         "... Replying ERROR, header: OutHeader { error: -2 (No such file or directory), unique: 8, len: 16 }"
#   C:    "[...] [ID: 00000004] unique: 4, opcode: GETATTR (3), nodeid: 1, insize: 56, pid: 95"
#         "[...] [ID: 00000004]    unique: 4, success, outsize: 120"  /  "...    unique: 8, error: -2 (...), outsize: 16"
set -uo pipefail
DIR=${1:?usage: summarize.sh DIR}
LOG=$DIR/virtiofsd.log; [ -f "$LOG" ] || LOG=$DIR/virtiofsd.log.gz
[ -f "$LOG" ] || { echo "summarize: no virtiofsd.log in $DIR" >&2; exit 1; }

T=$(mktemp); trap 'rm -f "$T"' EXIT
gzip -dcf "$LOG" | awk '
function uniq_after(s, key) { sub(".*" key, "", s); sub(/[^0-9].*/, "", s); return s }
/^\[/ { ts = ($1 ~ /Z$/) ? $1 : $1 " " $2; gsub(/[][]/, "", ts); if (first == "") first = ts; last = ts }
/ virtiofsd::server\] Received request: / {
  fmt = "rust"; req++; lastreq = ts
  op = $0; sub(/.*opcode=/, "", op); sub(/ .*/, "", op)
  pid = $0; sub(/.*pid=/, "", pid); sub(/[^0-9].*/, "", pid)
  byop[op]++; bypid[pid]++
  if (op == "Init") { for (k in pend) delete pend[k] }
  if ($0 ~ /unique=/) { u = uniq_after($0, "unique="); pend[u] = op }
  next
}
/ virtiofsd::server\] Replying OK/ { ok++; delete pend[uniq_after($0, "unique: ")]; next }
/ virtiofsd::server\] Replying ERROR/ {
  er++; e = $0; sub(/.*error: /, "", e); sub(/, unique:.*/, "", e); errs[e]++
  delete pend[uniq_after($0, "unique: ")]; next
}
/\] unique: [0-9]+, opcode: / {
  fmt = "c"; req++; lastreq = ts
  op = $0; sub(/.*opcode: /, "", op); sub(/ .*/, "", op)
  pid = $0; sub(/.*pid: /, "", pid); sub(/[^0-9].*/, "", pid)
  byop[op]++; bypid[pid]++
  if (op == "INIT") { for (k in pend) delete pend[k] }
  pend[uniq_after($0, "unique: ")] = op; next
}
/\] +unique: [0-9]+, success, outsize: / { ok++; delete pend[uniq_after($0, "unique: ")]; next }
/\] +unique: [0-9]+, error: / {
  er++; e = $0; sub(/.*error: /, "", e); sub(/, outsize:.*/, "", e); errs[e]++
  delete pend[uniq_after($0, "unique: ")]; next
}
END {
  # opcodes that never get a reply line (virtiofsd-log-formats.md 2.3/3): FORGET, BATCH_FORGET, INTERRUPT;
  # Rust: Destroy; C: successful READ (so a pending C READ is not counted either)
  split("Forget BatchForget Interrupt Destroy FORGET BATCH_FORGET INTERRUPT READ", nr, " ")
  for (i in nr) noreply[nr[i]] = 1
  un = 0; maxu = -1
  for (u in pend) if (!(pend[u] in noreply)) { un++; if (u + 0 > maxu) maxu = u + 0; lst = lst " " u ":" pend[u] }
  print "S format=" (fmt == "" ? "unknown" : fmt)
  print "S requests_total=" req + 0
  print "S replies_ok=" ok + 0 " replies_error=" er + 0
  print "S unanswered_requests=" un
  if (un > 0 && un <= 20) print "S unanswered_uniques=" substr(lst, 2)
  d = ("Destroy" in byop) || ("DESTROY" in byop)
  print "S destroy_seen=" (d > 0 ? 1 : 0)
  print "S log_first_ts=" first
  print "S log_last_ts=" last
  print "S last_request_ts=" lastreq
  for (k in byop) print "O " byop[k] " " k
  for (k in bypid) print "P " bypid[k] " " k
  for (k in errs) print "E " errs[k] " " k
}' > "$T"

sed -n 's/^S //p' "$T"
printf 'requests_by_opcode:'; sed -n 's/^O //p' "$T" | sort -k1,1nr -k2 | awk '{printf " %s=%s", $2, $1}'; echo
printf 'requests_by_pid:';    sed -n 's/^P //p' "$T" | sort -k1,1nr -k2n | awk '{printf " %s=%s", $2, $1}'; echo
printf 'errors_by_errno:';    sed -n 's/^E //p' "$T" | sort -k1,1nr | awk '{n=$1; sub(/^[0-9]+ /, ""); printf " %s=%s;", $0, n}'; echo

# guest side
con=$DIR/console.txt; cst=$DIR/console.host-stamped.log; dst=$DIR/debug-port.host-stamped.log
[ -f "$con" ] && echo "console_lines=$(wc -l < "$con") guest_poweroff_line=$(grep -c '^\[guest [0-9.]*\] poweroff' "$con")"
[ -f "$dst" ] && echo "debug_port_lines=$(wc -l < "$dst")"
if [ -f "$cst" ]; then
  m=$(grep -m1 -E '\] \[guest [0-9.]+\] [a-z0-9]+: start$' "$cst" || true)
  [ -n "$m" ] && echo "start_marker_host=${m:1:31} ${m:34}"
  d=$(grep -E '\] \[guest [0-9.]+\] [a-z0-9]+: done' "$cst" | tail -n1 || true)
  [ -n "$d" ] && echo "guest_done_line=${d:34}"
  l=$(grep -E '\] \[guest [0-9.]+\] ' "$cst" | tail -n1 || true)
  [ -n "$l" ] && echo "last_guest_console_line=$l"
fi
if [ -f "$dst" ]; then
  l=$(tail -n1 "$dst"); [ -n "$l" ] && echo "last_debug_port_line=$l"
fi
exit 0
