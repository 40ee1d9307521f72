# Reference "grep/awk" baseline for bench/run.mjs: counts Rust virtiofsd (>= 1.2) request lines
# by opcode, pid and inode. Nothing else (no pairing, no timing).  Usage: mawk -f bench/ref-count.awk FILE
#
# Fields of a request line (default FS):
#   $1 [2026-11-27T03:10:32Z  $2 DEBUG  $3 virtiofsd::server]  $4 Received  $5 request:
#   $6 opcode=Lookup  $7 (1),  $8 inode=1,  $9 unique=6,  $10 pid=1
# Unknown opcode: $5 unknown  $6 request:  $7 opcode=52,  $8 inode=1   (no unique, no pid)
#
# The hot path only hashes raw field text; keys are decoded once in END. A cheap regex prefilter
# skips the ~55 % of lines (replies, queue events) before mawk splits them into fields.
#
# Output (unordered): "opcode NUM NAME COUNT", "pid PID COUNT", "inode NODEID COUNT", "total N".
# Unknown opcodes are named "unknown(NUM)"; they count towards total, opcode and inode, not pid.

/Received/ {
  if ($5 == "request:") { op[$6 $7]++; pid[$10]++; ino[$8]++ }
  else if ($5 == "unknown" && $6 == "request:") { unk[$7]++; ino[$8 ","]++ }
}

END {
  for (k in op) {                      # k = "opcode=Lookup(1),"
    p = index(k, "(")
    print "opcode", substr(k, p + 1, length(k) - p - 2), substr(k, 8, p - 8), op[k]
    total += op[k]
  }
  for (k in unk) {                     # k = "opcode=52,"
    n = substr(k, 8, length(k) - 8)
    print "opcode", n, "unknown(" n ")", unk[k]
    total += unk[k]
  }
  for (k in pid) print "pid", substr(k, 5), pid[k]
  for (k in ino) print "inode", substr(k, 7, length(k) - 7), ino[k]   # k = "inode=1,"
  print "total", total
}
