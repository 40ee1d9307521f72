# Independent reference count of a virtiofsd debug log (Rust >= 1.2 stderr or C stderr), for tests.
# Field positions of the real formats (default FS collapses the C reply lines' three leading spaces):
#   Rust: [ts] LEVEL module] Received request: opcode=Lookup (1), inode=1, unique=6, pid=101
#   Rust: [ts] LEVEL module] Received unknown request: opcode=99, inode=1
#   Rust: [ts] LEVEL module] Replying OK, header: ...      / Replying ERROR, header: OutHeader { error: -2 (...
#   C:    [date time] [ID: n] unique: 6, opcode: LOOKUP (1), nodeid: 1, insize: 44, pid: 101
#   C:    [date time] [ID: n]    unique: 6, success, outsize: 144   / unique: 8, error: -2 (...), outsize: 16
#   libfuse -d (no prefix): unique: 6, opcode: LOOKUP (1), nodeid: 1, insize: 44, pid: 101
#   libfuse -d (no prefix):    unique: 6, success, outsize: 144   /    unique: 8, error: -2 (...), outsize: 16
function num(s) { gsub(/[^0-9-]/, "", s); return s }
$4 == "Received" && $5 == "request:" { n++; op[num($7)]++; ino[num($8)]++; pid[num($10)]++; next }
$4 == "Received" && $5 == "unknown" { n++; op[num($7)]++; ino[num($8)]++; next }
$4 == "Replying" && $5 == "OK," { ok++; next }
$4 == "Replying" && $5 == "ERROR," { bad++; err[num($10)]++; next }
$5 == "unique:" && $7 == "opcode:" { n++; op[num($9)]++; ino[num($11)]++; pid[num($15)]++; next }
$5 == "unique:" && $7 == "success," { ok++; next }
$5 == "unique:" && $7 == "error:" { bad++; err[num($8)]++; next }
$1 == "unique:" && $3 == "opcode:" { n++; op[num($5)]++; ino[num($7)]++; pid[num($11)]++; next }
$1 == "unique:" && $3 == "success," { ok++; next }
$1 == "unique:" && $3 == "error:" { bad++; err[num($4)]++; next }
END {
  print "total", n + 0
  print "ok", ok + 0
  print "bad", bad + 0
  for (k in op) print "op", k, op[k]
  for (k in pid) print "pid", k, pid[k]
  for (k in ino) print "inode", k, ino[k]
  for (k in err) print "errno", k, err[k]
}
