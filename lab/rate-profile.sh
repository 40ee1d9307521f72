#!/usr/bin/env bash
# lab/rate-profile.sh DIR [THRESHOLD] [TAILSECS] - request-rate profile of a lab capture, awk only (independent of
# the project's analyser). DIR holds virtiofsd.log[.gz] (Rust or C debug format) and console.host-stamped.log.
# Per host second: requests received and new console lines. Prints
#   busy_run         longest run of consecutive seconds with >= THRESHOLD (default 1000) requests/s
#   busy_silent_run  longest run of consecutive seconds with >= THRESHOLD requests/s and no new console line
#   longest_console_gap  longest gap between console lines inside the log's time span, with its request count
#   top_pids         the 8 busiest pids (with _COMM from journal.json when the journal names them)
#   tail             requests in the last TAILSECS (default 30) s of the log: rate, by pid, by opcode, by inode
# Rust stamps have 1 s resolution, so everything is per whole second (a console line in second S counts for S).
set -uo pipefail
DIR=${1:?usage: rate-profile.sh DIR [THRESHOLD] [TAILSECS]}; TH=${2:-1000}; TAIL=${3:-30}
LOG=$DIR/virtiofsd.log; [ -f "$LOG" ] || LOG=$DIR/virtiofsd.log.gz
CON=$DIR/console.host-stamped.log; J=$DIR/journal.json
comms=$(mktemp); trap 'rm -f "$comms"' EXIT
# pid -> comm from the journal (first seen), when the journal exists
if [ -s "$J" ]; then
  awk '{ p = ""; c = ""
         if (match($0, /"_PID":"[0-9]+"/)) { p = substr($0, RSTART + 8, RLENGTH - 9) }
         if (match($0, /"_COMM":"[^"]*"/)) { c = substr($0, RSTART + 9, RLENGTH - 10) }
         if (p != "" && c != "" && !(p in seen)) { seen[p] = 1; print p, c } }' "$J" > "$comms"
fi
{ cat "$comms"; echo "=="; cat "$CON" 2>/dev/null; echo "=="; gzip -dcf "$LOG"; } | awk -v TH="$TH" -v TAIL="$TAIL" '
function secs(d, t,   a, b) { split(d, a, "-"); split(t, b, ":"); return ((a[2] * 31 + a[3]) * 24 + b[1]) * 3600 + b[2] * 60 + int(b[3]) }
function label(s,   h, m) { s = s % 86400; h = int(s / 3600); m = int((s % 3600) / 60); return sprintf("%02d:%02d:%02d", h, m, s % 60) }
BEGIN { part = 0 }
/^==$/ { part++; next }
part == 0 { comm[$1] = $2; next }
part == 1 { if (substr($0, 1, 1) == "[") { con[secs(substr($0, 2, 10), substr($0, 13, 8))]++; ncon++ } ; next }
{
  if ($0 ~ /^\[[0-9-]+T[0-9:]+Z /) { s = secs(substr($0, 2, 10), substr($0, 13, 8)) }          # Rust
  else if ($0 ~ /^\[[0-9-]+ [0-9:.]+\+0000\]/) { s = secs(substr($0, 2, 10), substr($0, 13, 8)) }  # C
  else next
  if (first == "") first = s; last = s
  if ($0 ~ / virtiofsd::server\] Received request: /) {
    op = $0; sub(/.*opcode=/, "", op); sub(/ .*/, "", op)
    ino = $0; sub(/.*inode=/, "", ino); sub(/,.*/, "", ino)
    pid = $0; sub(/.*pid=/, "", pid); sub(/[^0-9].*/, "", pid)
  } else if ($0 ~ /\] unique: [0-9]+, opcode: /) {
    op = $0; sub(/.*opcode: /, "", op); sub(/ .*/, "", op)
    ino = $0; sub(/.*nodeid: /, "", ino); sub(/,.*/, "", ino)
    pid = $0; sub(/.*pid: /, "", pid); sub(/[^0-9].*/, "", pid)
  } else next
  n++; req[s]++; bypid[pid]++; R[n] = s; P[n] = pid; O[n] = op; I[n] = ino
}
END {
  if (n == 0) { print "no requests"; exit }
  mx = 0; for (s = first; s <= last; s++) if (req[s] + 0 > mx) { mx = req[s]; mxs = s }
  printf "log_span_s=%d requests=%d mean_per_s=%.0f max_per_s=%d at %s\n", last - first + 1, n, n / (last - first + 1), mx, label(mxs)
  # runs
  br = 0; bs = 0; cr = 0; cs = 0; bestb = 0; bestc = 0
  for (s = first; s <= last + 1; s++) {
    busy = (req[s] + 0 >= TH)
    if (busy) { if (br == 0) bs = s; br++ } else { if (br > bestb) { bestb = br; bstart = bs }; br = 0 }
    if (busy && !(s in con)) { if (cr == 0) cs = s; cr++ } else { if (cr > bestc) { bestc = cr; cstart = cs }; cr = 0 }
  }
  tot = 0; for (s = bstart; s < bstart + bestb; s++) tot += req[s]
  printf "busy_run_s=%d (%s..%s, %d requests, %.0f/s)\n", bestb, label(bstart), label(bstart + bestb - 1), tot, bestb ? tot / bestb : 0
  tot = 0; for (s = cstart; s < cstart + bestc; s++) tot += req[s]
  printf "busy_silent_run_s=%d (%s..%s, %d requests, %.0f/s)\n", bestc, label(cstart), label(cstart + bestc - 1), tot, bestc ? tot / bestc : 0
  # longest gap between console lines within the log span (only seconds with no console line)
  g = 0; gs = 0; bg = 0
  for (s = first; s <= last + 1; s++) {
    if (!(s in con) && s <= last) { if (g == 0) gs = s; g++ } else { if (g > bg) { bg = g; bgs = gs }; g = 0 }
  }
  tot = 0; for (s = bgs; s < bgs + bg; s++) tot += req[s]
  printf "longest_console_gap_s=%d (%s..%s, %d requests)\n", bg, label(bgs), label(bgs + bg - 1), tot
  for (i = 1; i <= n; i++) if (R[i] >= bgs && R[i] < bgs + bg) { gp[P[i]]++; go[O[i]]++ }
  printf "gap_by_pid:"; for (p in gp) if (gp[p] * 20 >= tot) printf " %s%s=%d", p, (p in comm) ? "/" comm[p] : "", gp[p]; print " (pids with >= 5%)"
  printf "gap_by_opcode:"; for (o in go) if (go[o] * 20 >= tot) printf " %s=%d", o, go[o]; print " (opcodes with >= 5%)"
  printf "gap_per_second:"; for (s = bgs; s < bgs + bg; s++) printf " %d", req[s] + 0; print ""
  k = 0; for (p in bypid) { k++; pp[k] = p }
  for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (bypid[pp[j]] > bypid[pp[i]]) { t = pp[i]; pp[i] = pp[j]; pp[j] = t }
  printf "top_pids:"; for (i = 1; i <= k && i <= 8; i++) printf " %s%s=%d(%.1f%%)", pp[i], (pp[i] in comm) ? "/" comm[pp[i]] : "", bypid[pp[i]], 100 * bypid[pp[i]] / n; print ""
  # tail
  from = last - TAIL + 1; tn = 0
  for (i = 1; i <= n; i++) if (R[i] >= from) { tn++; tp[P[i]]++; to[O[i]]++; ti[I[i]]++; tpo[P[i] " " O[i] " " I[i]]++ }
  printf "tail_%ds: %d requests (%.2f/s) from %s to %s (last log line)\n", TAIL, tn, tn / TAIL, label(from), label(last)
  printf "tail_by_pid:"; for (p in tp) printf " %s%s=%d", p, (p in comm) ? "/" comm[p] : "", tp[p]; print ""
  printf "tail_by_opcode:"; for (o in to) printf " %s=%d", o, to[o]; print ""
  k = 0; for (x in tpo) { k++; xx[k] = x }
  for (i = 1; i <= k && i <= 15; i++) for (j = i + 1; j <= k; j++) if (tpo[xx[j]] > tpo[xx[i]]) { t = xx[i]; xx[i] = xx[j]; xx[j] = t }
  printf "tail_top_pid_opcode_inode:"; for (i = 1; i <= k && i <= 15; i++) printf " [%s]=%d", xx[i], tpo[xx[i]]; print ""
  printf "tail_per_second:"; for (s = from; s <= last; s++) printf " %d", req[s] + 0; print ""
}'
