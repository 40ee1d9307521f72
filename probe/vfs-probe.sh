#!/bin/sh
# vfs-probe: a dependency-free guest probe for vfs-analyze (POSIX sh; busybox ash, dash, bash).
#
# Once per interval it samples /proc (every process and thread: comm, cmdline, state, parent, CPU time),
# details the tasks that used the most CPU since the previous sample (wchan, /proc/PID/syscall, kernel stack),
# optionally forwards fuse_request_send tracepoint lines (they carry the FUSE `unique`), and writes one compact
# JSON object per line:  vfs-probe: {"vfsprobe":1,"k":KIND,"n":SAMPLE,"t":REALTIME_S,"up":UPTIME_S,...}
# See probe/README.md for the record format.
#
# Two samplers write the same records. The awk sampler (default when `awk` exists: busybox, gawk, mawk) is one
# persistent awk process that reads /proc itself; the shell only keeps time and wakes it, so a sample costs no fork.
# The shell sampler (VFS_PROBE_ENGINE=sh, no awk, or the `logger` sink) forks grep once per sample. Writing to
# /dev/kmsg never blocks. The port sink is written directly by the awk sampler (a virtio-serial port blocks only if
# the host side stops reading it) and by one background writer per sample in the shell sampler, which drops records
# (counted in "drop") while that writer is stuck.
#
# Environment (all optional):
#   VFS_PROBE_INTERVAL  seconds between samples, may be fractional (default 1)
#   VFS_PROBE_OUT       comma list of sinks: kmsg, console, port, logger, stdout (default kmsg,port)
#   VFS_PROBE_PORT      virtio-serial port name for the `port` sink (default org.vfsprobe) or a device path
#   VFS_PROBE_TOP       tasks listed per sample, by CPU used in the interval (default 64)
#   VFS_PROBE_DETAIL    hottest tasks given wchan/syscall/stack (default 3)
#   VFS_PROBE_HOTMIN    ...if they used at least this % of a CPU in the interval (default 10)
#   VFS_PROBE_FULL      every Nth sample lists all tasks with state and CPU time, reads every thread and the
#                       realtime clock (default 30; 0 = never)
#   VFS_PROBE_FUSE      1 = enable the fuse tracepoints when the kernel has them (default 1)
#   VFS_PROBE_FUSE_MAX  fuse tracepoint lines forwarded per sample (default 16)
#   VFS_PROBE_KMSG_LEVEL  syslog level of the kmsg records (default 4, on the console; 7 keeps them off the console)
#   VFS_PROBE_ENGINE    auto (default: the awk sampler when awk exists and no sink is `logger`) or sh
#   VFS_PROBE_AWK       the awk to run (default: gawk, else busybox awk, else awk)
#   VFS_PROBE_MAXREC    max bytes of one JSON record (default 800; kmsg takes < 1 KiB per record)
#   VFS_PROBE_SAMPLES   stop after N samples (default 0 = run forever)
#   VFS_PROBE_PROF      1 = a "prof" record per sample: the probe's CPU ticks per phase (overhead analysis)
#   VFS_PROBE_BENCH     1 = time the building blocks (fork, exec, /proc reads, scan, kmsg) in "bench" records, exit
set -f
PROBE_VERSION=1
IV=${VFS_PROBE_INTERVAL:-1}
OUTS=${VFS_PROBE_OUT:-kmsg,port}
PORTNAME=${VFS_PROBE_PORT:-org.vfsprobe}
TOPN=${VFS_PROBE_TOP:-64}
DETN=${VFS_PROBE_DETAIL:-3}
HOTMIN=${VFS_PROBE_HOTMIN:-10}
FULLN=${VFS_PROBE_FULL:-60}
FUSE_WANT=${VFS_PROBE_FUSE:-1}
FUSE_MAX=${VFS_PROBE_FUSE_MAX:-16}
MAXREC=${VFS_PROBE_MAXREC:-800}
SAMPLES=${VFS_PROBE_SAMPLES:-0}
PROF=${VFS_PROBE_PROF:-0}
# kmsg records as facility user, this level: 4 (warning) is printed on the console unless `quiet`; 7 (debug) is not
KLEVEL=${VFS_PROBE_KMSG_LEVEL:-4}
case $KLEVEL in [0-7]) ;; *) KLEVEL=4 ;; esac
KPFX="<$((8 + KLEVEL))>"
NL='
'
SELF=$$
# interval in centiseconds ("1" -> 100, "0.5" -> 50, "2.25" -> 225)
case $IV in
  *.*) f=${IV#*.}00; f=${f%"${f#??}"}; IVCS=$(( ${IV%%.*}0 / 10 * 100 + 1$f - 100 )) ;;
  *) IVCS=$((IV * 100)) ;;
esac
[ "$IVCS" -gt 0 ] || IVCS=100

# ---- clock: uptime in centiseconds without forking -------------------------------------------
now() { read -r U _x </proc/uptime; UCS=$(( ${U%.*} * 100 + 1${U#*.} - 100 )); }

# ---- JSON string escaping (fast path: nothing to escape) -------------------------------------
# sets J to the escaped text of $1, at most $2 characters of input (0 = no limit)
jstr() {
  J=$1
  if [ "${2:-0}" -gt 0 ] && [ ${#J} -gt "$2" ]; then
    _r=$J; _o=
    while [ ${#_o} -lt "$2" ]; do _c=${_r#?}; _o=$_o${_r%"$_c"}; _r=$_c; done
    J=$_o
  fi
  case $J in
    *[\"\\[:cntrl:]]*) ;;
    *) return 0 ;;
  esac
  _r=$J; J=
  while [ -n "$_r" ]; do
    _c=${_r#?}; _ch=${_r%"$_c"}; _r=$_c
    case $_ch in
      \") J=$J'\"' ;;
      \\) J=$J'\\' ;;
      [[:cntrl:]]) J=$J' ' ;;
      *) J=$J$_ch ;;
    esac
  done
}

# ---- sinks --------------------------------------------------------------------------------------
PORTDEV= DROP=0 WPID= SINK_KMSG=0 SINK_CON=0 SINK_PORT=0 SINK_LOG=0 SINK_STDOUT=0
find_port() {
  case $PORTNAME in /*) [ -c "$PORTNAME" ] && PORTDEV=$PORTNAME; return ;; esac
  if [ -c "/dev/virtio-ports/$PORTNAME" ]; then PORTDEV=/dev/virtio-ports/$PORTNAME; return; fi
  set +f
  for e in /sys/class/virtio-ports/*; do
    [ -f "$e/name" ] || continue
    read -r _n <"$e/name" || true
    if [ "$_n" = "$PORTNAME" ] && [ -c "/dev/${e##*/}" ]; then PORTDEV=/dev/${e##*/}; break; fi
  done
  set -f
}
IFS=,
for o in $OUTS; do
  case $o in
    kmsg) [ -w /dev/kmsg ] && SINK_KMSG=1 ;;
    console) [ -w /dev/console ] && SINK_CON=1 ;;
    port) find_port; [ -n "$PORTDEV" ] && SINK_PORT=1 ;;
    logger) command -v logger >/dev/null 2>&1 && SINK_LOG=1 ;;
    stdout) SINK_STDOUT=1 ;;
  esac
done
IFS=' 	
'
if [ $((SINK_KMSG + SINK_CON + SINK_PORT + SINK_LOG + SINK_STDOUT)) -eq 0 ]; then
  if [ -w /dev/kmsg ]; then SINK_KMSG=1; else SINK_STDOUT=1; fi
fi
SINKS=
[ $SINK_KMSG = 1 ] && SINKS=$SINKS,kmsg
[ $SINK_CON = 1 ] && SINKS=$SINKS,console
[ $SINK_PORT = 1 ] && SINKS=$SINKS,port
[ $SINK_LOG = 1 ] && SINKS=$SINKS,logger
[ $SINK_STDOUT = 1 ] && SINKS=$SINKS,stdout
SINKS=${SINKS#,}

# records of the current sample for the asynchronous sinks (port, logger)
ABUF=
emit() { # one JSON record (without the common head) -> every sink
  _rec="{\"vfsprobe\":1,\"k\":\"$1\",\"n\":$SEQ,\"t\":$T,\"up\":$U$2}"
  [ $SINK_KMSG = 1 ] && { printf '%s\n' "${KPFX}vfs-probe: $_rec" >/dev/kmsg; } 2>/dev/null
  [ $SINK_CON = 1 ] && { printf '%s\n' "vfs-probe: $_rec" >/dev/console; } 2>/dev/null
  [ $SINK_STDOUT = 1 ] && printf '%s\n' "vfs-probe: $_rec"
  if [ $SINK_PORT = 1 ] || [ $SINK_LOG = 1 ]; then ABUF="${ABUF}vfs-probe: $_rec$NL"; fi
  return 0
}
flush_async() { # hand this sample's records to one background writer; never wait for it
  [ -n "$ABUF" ] || return 0
  if [ -n "$WPID" ] && kill -0 "$WPID" 2>/dev/null; then
    # the previous writer is still blocked: drop this sample's records (counted)
    _c=$ABUF; _k=0
    while [ -n "$_c" ]; do _c=${_c#*"$NL"}; _k=$((_k + 1)); done
    DROP=$((DROP + _k)); ABUF=; return 0
  fi
  _b=$ABUF; ABUF=
  (
    [ $SINK_PORT = 1 ] && { printf '%s' "$_b" >"$PORTDEV"; } 2>/dev/null
    [ $SINK_LOG = 1 ] && printf '%s' "$_b" | logger -t vfs-probe 2>/dev/null
  ) </dev/null >/dev/null 2>&1 &
  WPID=$!
}

# list records split at MAXREC bytes: list_add KIND KEY ITEM / list_end KIND KEY
LB= LP=0
list_add() {
  if [ -n "$LB" ] && [ $((${#LB} + ${#3} + 100)) -gt "$MAXREC" ]; then
    emit "$1" ",\"p\":$LP,\"$2\":[$LB]"; LB=; LP=$((LP + 1))
  fi
  LB=${LB:+$LB,}$3
}
list_end() {
  [ -n "$LB" ] && emit "$1" ",\"p\":$LP,\"last\":1,\"$2\":[$LB]"
  [ -z "$LB" ] && [ "$LP" -gt 0 ] && emit "$1" ",\"p\":$LP,\"last\":1,\"$2\":[]"
  LB= LP=0
}

# ---- fuse tracepoints ------------------------------------------------------------------------
TR= FUSE=absent TCLK_OLD= TCLK=
fuse_setup() {
  [ "$FUSE_WANT" = 1 ] || { FUSE=disabled; return; }
  for d in /sys/kernel/tracing /sys/kernel/debug/tracing; do
    if [ -d "$d" ] && [ ! -e "$d/events" ] && [ "$d" = /sys/kernel/tracing ]; then
      mount -t tracefs nodev "$d" 2>/dev/null
    fi
    if [ -d "$d/events" ]; then TR=$d; break; fi
  done
  [ -n "$TR" ] || { FUSE=notracefs; return; }
  [ -d "$TR/events/fuse/fuse_request_send" ] || { FUSE=absent; return; }
  # the trace clock: `boot` is CLOCK_BOOTTIME, the clock of /proc/uptime, so trace stamps and "up" agree exactly
  TCLK_OLD=
  if read -r _tc 2>/dev/null <"$TR/trace_clock"; then
    TCLK_OLD=${_tc#*[}; TCLK_OLD=${TCLK_OLD%%]*}
    case " $_tc " in *" boot "* | *"[boot]"*) echo boot >"$TR/trace_clock" 2>/dev/null ;; esac
    read -r _tc 2>/dev/null <"$TR/trace_clock" && { TCLK=${_tc#*[}; TCLK=${TCLK%%]*}; }
  fi
  { echo 256 >"$TR/buffer_size_kb"; echo >"$TR/trace"; echo 1 >"$TR/events/fuse/fuse_request_send/enable"; } 2>/dev/null \
    && FUSE=on || FUSE=noperm
}
fuse_forward() { # up to FUSE_MAX newest fuse_request_send lines since the last sample, then clear the buffer
  _f=$(grep fuse_request_send "$TR/trace" 2>/dev/null | tail -n "$FUSE_MAX"; echo >"$TR/trace")
  [ -n "$_f" ] || return 0
  IFS=$NL
  for _l in $_f; do
    jstr "$_l" 300
    list_add fuse l "\"$J\""
  done
  IFS=' 	
'
  list_end fuse l
}

# ---- sampling -------------------------------------------------------------------------------
# The shell sampler. Per sample ONE fork: `grep -h '' /proc/[0-9]*/stat` (process level: a process's ticks are the sum over its threads). The
# lines are compared in lock-step with the previous sample's (same glob order): an unchanged line is a process that
# did not run, and costs one string comparison. Only changed lines are parsed. The threads of a multi-threaded
# process are read (one more fork, `grep` over its task/*/stat) only when its process line changed, and for every
# process on full samples (sample 1 and every VFS_PROBE_FULL), which also re-read the realtime clock (`date`).
# Between full samples `t` is derived from the uptime: t = T_full + (up - up_full), whole seconds.
SEQ=0 T=0 TRT=0 TRU=0 NTX=0 PREV= HOT=
get_self() { # CPU ticks of the probe and its reaped children
  read -r _s </proc/$SELF/stat
  _i=$IFS; IFS=' '
  set -- ${_s##*) }
  IFS=$_i
  SELFT=$((${12} + ${13} + ${14} + ${15}))
}
# VFS_PROBE_PROF=1: the probe's own CPU ticks per phase of each sample, in a "prof" record (overhead analysis)
PROFS= PROFT=0
prof() { [ "$PROF" = 1 ] || return 0; get_self; PROFS="$PROFS,\"$1\":$((SELFT - PROFT))"; PROFT=$SELFT; }
# tsk TID PID COMM STATE PPID TICKS START: one task's state this sample (IFS is $NL on entry and exit)
tsk() {
  case $4 in R) NR=$((NR + 1)) ;; D) ND=$((ND + 1)) ;; esac
  eval "_os=\${S_$1-} _ot=\${C_$1-0} _oc=\${N_$1-}"
  if [ "$_os" != "$7" ]; then
    # a new task (or a reused TID): all its CPU time falls in this interval, except in the first sample
    if [ "$SEQ" -le 1 ]; then _ot=$6; else _ot=0; fi
    eval "S_$1=\$7 N_$1=\$3"
    NEWL=$NEWL$1' '$2' '$5' '$7$NL
  elif [ "$_oc" != "$3" ] && [ "$5" != 2 ]; then
    # exec or prctl(PR_SET_NAME) renamed it (kernel threads, children of kthreadd, rename all the time: ignored)
    eval "N_$1=\$3"
    NEWL=$NEWL$1' '$2' '$5' '$7$NL
  fi
  eval "C_$1=\$6"
  _d=$(($6 - _ot))
  if [ "$_d" -gt 0 ] || [ "$4" = R ] || [ "$4" = D ]; then
    if [ "$NTOP" -lt "$TOPN" ]; then
      TOPL=$TOPL$_d' '$1' '$2' '$4$NL; NTOP=$((NTOP + 1))
    else
      TOPC=$((TOPC + 1))
    fi
    if [ "$_d" -gt "$H3D" ] && [ "$1" != "$SELF" ]; then
      if [ "$_d" -gt "$H1D" ]; then H3=$H2 H3D=$H2D H2=$H1 H2D=$H1D H1="$1 $2 $4" H1D=$_d
      elif [ "$_d" -gt "$H2D" ]; then H3=$H2 H3D=$H2D H2="$1 $2 $4" H2D=$_d
      else H3="$1 $2 $4" H3D=$_d; fi
    fi
  fi
  [ "$FULL" = 1 ] && ALL=$ALL$1' '$2' '$5' '$4' '$6$NL
  return 0
}
# proc LINE: a process's /proc/PID/stat line that changed (or every line on full samples)
proc() {
  _pid=${1%% *}
  _r=${1#*\(}; _comm=${_r%)*}; _r=${_r#"$_comm) "}
  IFS=' '
  set -- $_r
  IFS=$NL
  if [ "$2" = "$SELF" ]; then NP=$((NP - 1)); return 0; fi # the probe's helpers (grep, date, writers): CPU in "self"
  eval "_oh=\${H_$_pid-1} H_$_pid=\${18} _tl=\${T_$_pid-}"
  NTX=$((NTX + ${18} - _oh))
  if [ "${18}" -gt 1 ]; then
    MTQ="$MTQ $_pid" # threads: read below
  else
    [ -n "$_tl" ] && thr_done "$_pid" " $_pid"
    tsk "$_pid" "$_pid" "$_comm" "$1" "$2" $((${12} + ${13})) "${20}"
  fi
}
# thr_done PID " TID TID…": the threads PID has now; the others it had are gone
thr_done() {
  eval "_tl=\${T_$1-}"
  IFS=' '
  for _t in $_tl; do
    case "$2 " in *" $_t "*) ;; *) GONE=$GONE,$_t; unset "S_$_t" "C_$_t" "N_$_t" ;; esac
  done
  IFS=$NL
  if [ "$2" = " $1" ]; then unset "T_$1"; else eval "T_$1=\$2"; fi
}
# gone_proc PID: a process (and its threads) exited
gone_proc() {
  eval "_oh=\${H_$1-} _tl=\${T_$1- $1}"
  [ -n "$_oh" ] || return 0 # never listed: one of the probe's helpers
  NTX=$((NTX - _oh + 1))
  unset "H_$1" "T_$1"
  IFS=' '
  for _t in $_tl; do GONE=$GONE,$_t; unset "S_$_t" "C_$_t" "N_$_t"; done
  IFS=$NL
}
sample() {
  now; SU=$U; SUCS=$UCS
  prof wait
  FULL=0
  if [ "$SEQ" -eq 1 ] || { [ "$FULLN" -gt 0 ] && [ $((SEQ % FULLN)) -eq 0 ]; }; then FULL=1; fi
  set +f
  if [ $FULL = 1 ]; then
    _x=$(date +%s; grep -h "" /proc/[0-9]*/stat 2>/dev/null)
    TRT=${_x%%"$NL"*}; _x=${_x#*"$NL"}; TRU=$SUCS
    case $TRT in '' | *[!0-9]*) TRT=0 ;; esac
  else
    _x=$(grep -h "" /proc/[0-9]*/stat 2>/dev/null)
  fi
  set -f
  prof read
  T=$((TRT + (SUCS - TRU) / 100))
  NR=0 ND=0 NEWL= ALL= TOPL= TOPC=0 NTOP=0 GONE= MTQ=
  H1= H2= H3= H1D=0 H2D=0 H3D=0
  IFS=$NL
  set -- $_x
  NP=$# # every line, less the probe's helpers (counted in proc)
  set -- $PREV
  PREV=$_x
  _fp=; [ $FULL = 1 ] && _fp=full # on full samples no line is "unchanged"
  for _l in $_x; do
    if [ "$_fp$_l" = "$1" ]; then
      # did not run since the last sample: nothing to do, unless it is runnable or in D (listed even without CPU)
      shift
      case $_l in *") "[RD]" "*) proc "$_l" ;; esac
      continue
    fi
    while [ $# -gt 0 ]; do
      _cp=${_l%% *} _pp=${1%% *}
      if [ "$_cp" = "$_pp" ]; then shift; break; fi # changed
      eval "_k=\${H_$_cp-}"
      [ -n "$_k" ] || break # $_l is a new process (the cursor waits)
      gone_proc "$_pp"      # the cursor's process exited
      shift
    done
    proc "$_l"
  done
  for _l; do gone_proc "${_l%% *}"; done
  prof scan
  # threads of the multi-threaded processes that ran (all of them on full samples): one grep, file name prefix
  if [ -n "$MTQ" ]; then
    _f=
    IFS=' '
    for _p in $MTQ; do _f="$_f /proc/$_p/task/[0-9]*/stat"; done
    set +f
    _y=$(grep '' $_f 2>/dev/null)
    set -f
    IFS=$NL
    _cur= _curl=
    for _l in $_y; do
      _p=${_l#/proc/}; _pid=${_p%%/*}
      if [ "$_pid" != "$_cur" ]; then
        [ -n "$_cur" ] && thr_done "$_cur" "$_curl"
        _cur=$_pid _curl=
      fi
      _r=${_l#*/stat:}; _tid=${_r%% *}
      _r=${_r#*\(}; _comm=${_r%)*}; _r=${_r#"$_comm) "}
      IFS=' '
      set -- $_r
      IFS=$NL
      _curl="$_curl $_tid"
      tsk "$_tid" "$_pid" "$_comm" "$1" "$2" $((${12} + ${13})) "${20}"
    done
    [ -n "$_cur" ] && thr_done "$_cur" "$_curl"
  fi
  IFS=' 	
'
  NT=$((NP + NTX))
  prof threads
}

cmdlines() { # CL_<pid>= trimmed command line of new processes, one fork for all of them
  _f=
  for _t in $1; do _f="$_f /proc/$_t/cmdline"; done
  [ -n "$_f" ] || return 0
  _c=$(head -c 200 $_f /dev/null 2>/dev/null | tr '\000' ' ')
  _cur=
  IFS=$NL
  for _l in $_c; do
    case $_l in
      "==> /proc/"*"/cmdline <==") _cur=${_l#==> /proc/}; _cur=${_cur%%/*}; eval "CL_$_cur=" ;;
      "==> "*) _cur= ;;
      *) [ -n "$_cur" ] && eval "CL_$_cur=\${CL_$_cur}\$_l" ;;
    esac
  done
  IFS=' 	
'
}

report() {
  now
  # new tasks: [tid,pid,ppid,start,"comm","cmdline"]
  if [ -n "$NEWL" ]; then
    _np=
    IFS=$NL
    for _l in $NEWL; do IFS=' '; set -- $_l; IFS=$NL; [ "$1" = "$2" ] && _np="$_np $1"; done
    IFS=' 	
'
    cmdlines "$_np"
    IFS=$NL
    for _l in $NEWL; do
      IFS=' '; set -- $_l; IFS=$NL
      eval "_cm=\${N_$1-}"; jstr "$_cm"; _cm=$J
      _cl=
      if [ "$1" = "$2" ]; then eval "_cl=\${CL_$1-}"; unset "CL_$1"; _cl=${_cl% }; jstr "$_cl" 160; _cl=$J; fi
      list_add new new "[$1,$2,$3,$4,\"$_cm\",\"$_cl\"]"
    done
    IFS=' 	
'
    list_end new new
  fi
  [ -n "$GONE" ] && emit gone ",\"gone\":[${GONE#,}]"
  prof new
  # the sample header: counts, the probe's own CPU, the interval
  get_self
  _sd=$((SELFT - SELF0)); _sdd=$((SELFT - SELFP)); SELFP=$SELFT
  _dt=$((SUCS - PREVCS)); PREVCS=$SUCS
  _hdr=",\"dt\":$_dt,\"nt\":$NT,\"np\":$NP,\"nr\":$NR,\"nd\":$ND,\"self\":$_sdd,\"selfc\":$_sd,\"selfup\":$((SUCS - START_CS)),\"work\":$((UCS - SUCS)),\"drop\":$DROP,\"over\":$TOPC"
  # top tasks by CPU in the interval: [tid,pid,"state",ticks,"comm"]; in the s record when they fit
  _top=
  IFS=$NL
  for _l in $TOPL; do
    IFS=' '; set -- $_l; IFS=$NL
    eval "_cm=\${N_$2-}"; jstr "$_cm"
    _top=$_top$NL"[$2,$3,\"$4\",$1,\"$J\"]"
  done
  IFS=' 	
'
  if [ $((${#_hdr} + ${#_top} + 80)) -le "$MAXREC" ]; then
    _t=${_top#"$NL"}; IFS=$NL; set -- $_t; IFS=,; _t="$*"; IFS=' 	
'
    emit s "$_hdr,\"top\":[$_t]"
  else
    emit s "$_hdr"
    IFS=$NL
    for _l in $_top; do list_add top top "$_l"; done
    IFS=' 	
'
    list_end top top
  fi
  prof s
  # details of the hottest tasks
  _i=0
  for _h in "$H1 $H1D" "$H2 $H2D" "$H3 $H3D"; do
    _i=$((_i + 1))
    [ "$_i" -le "$DETN" ] || break
    set -- $_h
    [ $# -eq 4 ] && [ $(($4 * 100)) -ge $((HOTMIN * _dt)) ] && hot "$1" "$2" "$3" "$4"
  done
  # every FULLN samples: all tasks [tid,pid,ppid,"state",ticks]
  if [ -n "$ALL" ]; then
    IFS=$NL
    for _l in $ALL; do IFS=' '; set -- $_l; IFS=$NL; list_add all all "[$1,$2,$3,\"$4\",$5]"; done
    IFS=' 	
'
    list_end all all
  fi
  prof hot
  [ "$FUSE" = on ] && fuse_forward
  if [ "$PROF" = 1 ]; then emit prof "$PROFS"; PROFS=; fi
}
hot() { # tid pid state ticks
  _d=/proc/$2/task/$1
  _w= _sc= _stk=
  read -r _w 2>/dev/null <"$_d/wchan"
  _k=0
  while [ $_k -lt 3 ]; do # "running": the task was woken while being read; try again
    read -r _sc 2>/dev/null <"$_d/syscall"
    [ "$_sc" = running ] || break
    _k=$((_k + 1))
  done
  if [ -r "$_d/stack" ]; then
    while read -r _a _fn _rest; do
      _fn=${_fn%%+*}
      [ -n "$_fn" ] && _stk=${_stk:+$_stk<}$_fn
    done 2>/dev/null <"$_d/stack"
  fi
  eval "_cm=\${N_$1-}"; jstr "$_cm"; _cm=$J
  jstr "$_w" 64; _w=$J; jstr "$_sc" 200; _sc=$J; jstr "$_stk" 360; _stk=$J
  emit hot ",\"tid\":$1,\"pid\":$2,\"st\":\"$3\",\"cpu\":$4,\"comm\":\"$_cm\",\"wchan\":\"$_w\",\"sc\":\"$_sc\",\"stack\":\"$_stk\""
}

# ---- the awk sampler (default when awk exists and the sinks are kmsg/console/stdout) -------------------
# One persistent awk process does the sampling: it reads /proc itself (buffered reads, C-speed field splitting), so a
# sample costs no fork. Per sample it reads /proc/uptime, /proc/loadavg, the stat line of every user process, and
# /proc/stat; kernel threads only on full samples or when /proc/stat shows busy time the processes read do not explain;
# the threads of a multi-threaded process when its line changed. The task list (/proc/P/task/T) is globbed by the shell
# (no fork) only when the task count or the last PID in /proc/loadavg moved. The shell keeps time (read -t) and the
# realtime clock (date, on full samples).
AWKPROG='
# stdin (from the shell): "t [EPOCH]" = take a sample (EPOCH: a fresh realtime clock, on full samples), "L PATH..." =
# the task list (/proc/P/task/T) this process asked for with "l ELAPSED_CS" on the FIFO REQ. SYNC=1 (a shell without
# read -t): every sample is answered on REQ with "d" (done) or "l" (send the list first), one line each.
function rd(f,   l) { l = ""; if ((getline l < f) <= 0) l = ""; close(f); return l }
function jesc(s, max,   o, i, c, n) {
  if (max > 0 && length(s) > max) s = substr(s, 1, max)
  if (s !~ /["\\\001-\037\177]/) return s
  o = ""; n = length(s)
  for (i = 1; i <= n; i++) {
    c = substr(s, i, 1)
    if (c == "\"") o = o "\\\""; else if (c == "\\") o = o "\\\\"; else if (index(CTL, c)) o = o " "; else o = o c
  }
  return o
}
function emit(k, body,   r) {
  r = sprintf("vfs-probe: {\"vfsprobe\":1,\"k\":\"%s\",\"n\":%d,\"t\":%d,\"up\":%s%s}", k, SEQ, T, U, body)
  if (SK) { printf "%s%s\n", KPFX, r > "/dev/kmsg"; close("/dev/kmsg") }
  if (SC) { printf "%s\n", r > "/dev/console"; close("/dev/console") }
  if (SO) { printf "%s\n", r; fflush() }
  if (SP) printf "%s\n", r > PORTDEV # flushed once per sample
}
function ladd(k, key, item) {
  if (LB != "" && length(LB) + length(item) + 100 > MAXREC) { emit(k, ",\"p\":" LP ",\"" key "\":[" LB "]"); LB = ""; LP++ }
  LB = (LB == "" ? item : LB "," item)
}
function lend(k, key) {
  if (LB != "") emit(k, ",\"p\":" LP ",\"last\":1,\"" key "\":[" LB "]")
  else if (LP > 0) emit(k, ",\"p\":" LP ",\"last\":1,\"" key "\":[]")
  LB = ""; LP = 0
}
# list: ask the shell for the task list and take it (1), or 0 when the shell is gone
function list(   line) {
  if (SYNC) reply("l"); else reply("l " (UCS - SUCS))
  while ((getline line) > 0) if (substr(line, 1, 2) == "L ") { relist(line); return 1 } # a queued "t" is dropped
  return 0
}
function reply(s) { printf "%s\n", s > REQ; fflush(REQ) }
function ticksof(f,   l, a) { # utime+stime(+cutime+cstime with c) of a stat file
  l = rd(f); if (l == "") return 0
  statf(l, a)
  return a[12] + a[13] + a[14] + a[15]
}
function schedns(p,   a) { split(rd("/proc/" p "/schedstat"), a, " "); return a[1] + 0 }
function selfns() { return schedns(SHP) + schedns(AWP) }
function selft(   x, q) { x = SHT; for (q in HC) x += HC[q]; return x } # from the stat lines read this sample
function prof(ph,   x, l, a) { # VFS_PROBE_PROF=1: microseconds (monotonic clock of /proc/timer_list) per phase
  if (!PROF) return
  while ((getline l < "/proc/timer_list") > 0) if (l ~ /^now at /) { split(l, a, " "); x = a[3]; break }
  close("/proc/timer_list")
  PROFS = PROFS ",\"" ph "\":" sprintf("%d", (x - PROFT) / 1000); PROFT = x
}
function lastparen(l,   j, k) { j = 0; while ((k = index(substr(l, j + 1), ")")) > 0) j += k; return j }
# statf: a /proc stat line -> a[1] = state, a[2] = ppid, ... (the fields after the comm); the comm in SCOMM
function statf(l, a,   i, j) {
  i = index(l, "("); j = lastparen(l); SCOMM = substr(l, i + 1, j - i - 1)
  return split(substr(l, j + 2), a, " ")
}
function nowup(   l, a) { l = rd("/proc/uptime"); split(l, a, " "); U = a[1]; UCS = int(a[1] * 100 + 0.5) }
# relist: the task list "L /proc/P/task/T ..." -> TP[tid] = pid, TL[pid] = " tid tid", gone tasks
function relist(line,   n, a, i, p, t, seen, q) {
  n = split(line, a, " ")
  for (q in TL) delete TL[q]
  for (i = 2; i <= n; i++) {
    p = a[i]; sub(/^\/proc\//, "", p); t = p; sub(/\/.*/, "", p); sub(/.*\//, "", t)
    if (t !~ /^[0-9]+$/ || p !~ /^[0-9]+$/) continue
    seen[t] = p; TL[p] = TL[p] " " t
  }
  for (t in TP) if (!(t in seen)) gone(t)
  NTP = 0
  for (t in seen) { TP[t] = seen[t]; NTP++ }
  NK = 0
  for (p in KTH) if (!(p in TL)) delete KTH[p]; else NK++
  split("", UP)
  for (p in TL) if (!(p in KTH)) UP[p] = 1
  for (p in HELP) if (!(p in TL)) { delete HELP[p]; delete HC[p] }
  for (p in LN) if (!(p in TL)) delete LN[p]
  for (p in RD) if (!(p in TL)) delete RD[p]
}
# discover N: a task created since the last sample (PIDs are handed out in order: the range since the last PID in
# /proc/loadavg); its thread group from /proc/N/status
function discover(n,   f, l, a, tg) {
  if (n in TP) return
  f = "/proc/" n "/status"; tg = ""
  while ((getline l < f) > 0) if (l ~ /^Tgid:/) { split(l, a, " "); tg = a[2]; break }
  close(f)
  if (tg == "") return # already gone again
  TP[n] = tg; TL[tg] = TL[tg] " " n; NTP++
  if (!(tg in KTH)) UP[tg] = 1
}
# a task exited: listed in "gone" (unless it was a helper of the probe), forgotten
function gone(t) { if (!(TP[t] in HELP)) GONE = GONE "," t; forget(t) }
# a process exited: all its threads
function gone_proc(p,   n, tl, i) {
  n = split(TL[p], tl, " ")
  for (i = 1; i <= n; i++) if (tl[i] in TP) gone(tl[i])
  if (p in KTH) NK--
  delete KHOT[p]; delete KT[p]
  delete TL[p]; delete LN[p]; delete RD[p]; delete KTH[p]; delete UP[p]; delete HELP[p]; delete HC[p]
}
function forget(t) { if (t in TP) NTP--; delete TP[t]; delete S[t]; delete C[t]; delete CU[t]; delete N[t] }
# tsk: the state of one task this sample
function tsk(t, p, cm, st, pp, tk, start,   ot, d, span) {
  if (st == "R") NRUN++; else if (st == "D") ND++
  if (!(t in S) || S[t] != start) {
    ot = (SEQ <= 1) ? tk : 0
    S[t] = start; N[t] = cm; NEWL[++NNEW] = t " " p " " pp " " start
    span = DT
  } else {
    ot = C[t]; span = UCS - CU[t]
    if (N[t] != cm && pp != 2) { N[t] = cm; NEWL[++NNEW] = t " " p " " pp " " start }
  }
  C[t] = tk; CU[t] = UCS
  d = tk - ot
  EXPL += d
  # a task not read in the previous sample (kernel threads): its ticks since then, scaled to this interval
  if (span > DT && span > 0 && DT > 0) d = int(d * DT / span + 0.5)
  if (d > 0 || st == "R" || st == "D") {
    TOPN_++; TD[TOPN_] = d; TT[TOPN_] = t " " p " " st
    if (d > H3D && t != SHP) {
      if (d > H1D) { H3 = H2; H3D = H2D; H2 = H1; H2D = H1D; H1 = t " " p " " st; H1D = d }
      else if (d > H2D) { H3 = H2; H3D = H2D; H2 = t " " p " " st; H2D = d }
      else { H3 = t " " p " " st; H3D = d }
    }
  }
  if (FULL) ALL[++NALL] = "[" t "," p "," pp ",\"" st "\"," tk "]"
}
# proc: read /proc/P/stat; returns 1 when read
function proc(p,   l, cm, a, nt, tl, i, x) {
  if (RD[p] == SEQ) return 1
  RD[p] = SEQ
  l = rd("/proc/" p "/stat")
  if (l == "") { gone_proc(p); return 0 }
  NP++
  if (l == LN[p] && !FULL && l !~ /\) [RD] /) { # did not run since the last sample
    if (p in KTH) { KRN++; delete KHOT[p] }
    return 1
  }
  LN[p] = l
  statf(l, a); cm = SCOMM
  if (a[2] == SHP) { # a helper of the probe (this awk): not listed, its CPU is in "self"
    HELP[p] = 1; NP--; x = a[12] + a[13]; EXPL += x - HC[p]; HC[p] = x; return 1
  }
  if (p == SHP) SHT = a[12] + a[13] + a[14] + a[15] # the shell and its reaped children (date)
  if ((a[2] == 2 || p == 2) && !(p in KTH)) { KTH[p] = 1; NK++; delete UP[p] }
  if (p in KTH) { # remember the kernel threads that ran: they are read first when busy time is unexplained
    KRN++; x = a[12] + a[13]
    if (x > KT[p] + 0) KHOT[p] = 1; else delete KHOT[p]
    KT[p] = x
  }
  if (a[18] > 1) {
    nt = split(TL[p], tl, " ")
    for (i = 1; i <= nt; i++) thr(p, tl[i])
  } else tsk(p, p, cm, a[1], a[2], a[12] + a[13], a[20])
  return 1
}
function thr(p, t,   l, a) {
  l = rd("/proc/" p "/task/" t "/stat")
  if (l == "") return
  statf(l, a)
  tsk(t, p, SCOMM, a[1], a[2], a[12] + a[13], a[20])
}
function cmdline(p,   f, l, s, n, i, parts) {
  f = "/proc/" p "/cmdline"; s = ""
  # mawk -W interactive reads a file only up to its first NUL (and then returns stale buffer bytes): argv[0] only
  while ((getline l < f) > 0) { s = (s == "" ? l : s " " l); if (MAWKI || length(s) > 200) break }
  close(f)
  if (NUL != "") { # mawk, gawk: NUL-separated arguments in one record (busybox awk splits records at NUL)
    n = split(s, parts, NUL); s = ""
    for (i = 1; i <= n; i++) s = (i == 1 ? parts[i] : s " " parts[i])
  }
  sub(/ +$/, "", s)
  return s
}
function hot(t, p, st, d,   dir, w, sc, k, stk, l, a, fn) {
  dir = "/proc/" p "/task/" t
  w = rd(dir "/wchan")
  for (k = 0; k < 3; k++) { sc = rd(dir "/syscall"); if (sc != "running") break }
  stk = ""
  while ((getline l < (dir "/stack")) > 0) {
    split(l, a, " "); fn = a[2]; sub(/\+.*/, "", fn)
    if (fn != "") stk = (stk == "" ? fn : stk "<" fn)
  }
  close(dir "/stack")
  emit("hot", ",\"tid\":" t ",\"pid\":" p ",\"st\":\"" st "\",\"cpu\":" d ",\"comm\":\"" jesc(N[t]) "\",\"wchan\":\"" jesc(w, 64) "\",\"sc\":\"" jesc(sc, 200) "\",\"stack\":\"" jesc(stk, 360) "\"")
}
function fuse_forward(   f, l, n, i, k, last) { # FUSE_MAX lines spread evenly over the sample (first to last): as
  # clock anchors they then straddle the whole-second stamps of the host, which narrows the guest-host offset
  f = TR "/trace"; n = 0
  while ((getline l < f) > 0) if (index(l, "fuse_request_send") && n < 8192) FL[++n] = l
  close(f)
  printf "" > f; close(f) # O_TRUNC clears the trace buffer
  if (n == 0) return
  last = 0
  for (k = 0; k < FUSE_MAX; k++) {
    i = FUSE_MAX > 1 ? 1 + int((n - 1) * k / (FUSE_MAX - 1) + 0.5) : n
    if (i <= last) continue
    last = i
    ladd("fuse", "l", "\"" jesc(FL[i], 300) "\"")
  }
  lend("fuse", "l")
}
function sample(epoch,   y, nsd, la, f, rn, ntot, last, need, p, st, busy, q, i, j, x, a, b, sd, sdd, hdr, top, n, rest, h) {
  SEQ++
  nowup(); SUCS = UCS
  if (epoch != "") { TRT = epoch; TRU = SUCS }
  T = TRT + int((SUCS - TRU) / 100)
  DT = SUCS - PREVCS; PREVCS = SUCS
  FULL = (SEQ == 1 || (FULLN > 0 && SEQ % FULLN == 0))
  NRUN = 0; ND = 0; NNEW = 0; NALL = 0; TOPN_ = 0; NP = 0; EXPL = 0; KRN = 0
  H1 = H2 = H3 = ""; H1D = H2D = H3D = 0
  prof("wait"); prof("null")
  # new tasks: the PIDs handed out since the last sample; a full task list (globbed by the shell) on full samples,
  # when the PID counter wrapped or jumped far, and when the task count in /proc/loadavg disagrees (an exit of a task
  # that is not read every sample)
  la = rd("/proc/loadavg"); split(la, f, " "); split(f[4], rn, "/"); ntot = rn[2] + 0; last = f[5] + 0
  need = LAST == "" # the first sample; later ones discover new PIDs, and list only when the task count disagrees
  if (!need && last != LAST) {
    if (last > LAST && last - LAST <= 64) for (i = LAST + 1; i <= last; i++) discover(i)
    else need = 1
  }
  if (!need && NTP != ntot) {
    for (p in UP) proc(p) # user processes first: their exits are seen by reading them
    need = NTP != ntot
  }
  if (need) {
    if (!list()) exit 0
    LISTS++
  }
  LAST = last
  prof("list")
  for (p in UP) proc(p)
  # kernel threads: on full samples, or when the busy time in /proc/stat is not explained by the processes read
  st = rd("/proc/stat"); split(st, a, " "); busy = a[2] + a[3] + a[4]
  # (the ones that ran last time first, all of them only if that does not explain it)
  x = DT / 20 > 2 ? DT / 20 : 2
  if (FULL) for (p in KTH) proc(p)
  else if (busy - BUSYP - EXPL > x) {
    for (p in KHOT) proc(p)
    if (busy - BUSYP - EXPL > x) for (p in KTH) proc(p)
  }
  NP += NK - KRN
  BUSYP = busy
  prof("read")
  # new tasks: [tid,pid,ppid,start,"comm","cmdline"]
  for (i = 1; i <= NNEW; i++) {
    split(NEWL[i], b, " ")
    ladd("new", "new", "[" b[1] "," b[2] "," b[3] "," b[4] ",\"" jesc(N[b[1]]) "\",\"" (b[1] == b[2] ? jesc(cmdline(b[1]), 160) : "") "\"]")
  }
  lend("new", "new")
  if (GONE != "") { emit("gone", ",\"gone\":[" substr(GONE, 2) "]"); GONE = "" }
  prof("new")
  x = selft(); sd = x - SELF0; sdd = x - SELFP; SELFP = x
  y = selfns(); nsd = y - NSP; NSP = y
  n = NTP; for (q in HELP) n--
  hdr = sprintf(",\"dt\":%d,\"nt\":%d,\"np\":%d,\"nr\":%d,\"nd\":%d,\"self\":%d,\"selfc\":%d,\"selfup\":%d,\"sns\":%d,\"snsc\":%d,\"work\":%d,\"drop\":0,\"over\":%d", \
    DT, n, NP, NRUN, ND, sdd, sd, SUCS - START_CS, nsd, y - NS0, WORK, TOPN_ > TOPN ? TOPN_ - TOPN : 0)
  # top tasks by CPU in the interval: [tid,pid,"state",ticks,"comm"], the TOPN busiest
  if (TOPN_ > TOPN) { # selection of the TOPN largest (rare: more than TOPN tasks ran)
    for (i = 1; i <= TOPN; i++) { j = i; for (q = i + 1; q <= TOPN_; q++) if (TD[q] > TD[j]) j = q
      x = TD[i]; TD[i] = TD[j]; TD[j] = x; x = TT[i]; TT[i] = TT[j]; TT[j] = x }
  }
  top = ""
  for (i = 1; i <= TOPN_ && i <= TOPN; i++) {
    split(TT[i], b, " ")
    top = top (i > 1 ? "," : "") "[" b[1] "," b[2] ",\"" b[3] "\"," TD[i] ",\"" jesc(N[b[1]]) "\"]"
  }
  if (length(hdr) + length(top) + 80 <= MAXREC) emit("s", hdr ",\"top\":[" top "]")
  else {
    emit("s", hdr)
    for (i = 1; i <= TOPN_ && i <= TOPN; i++) {
      split(TT[i], b, " ")
      ladd("top", "top", "[" b[1] "," b[2] ",\"" b[3] "\"," TD[i] ",\"" jesc(N[b[1]]) "\"]")
    }
    lend("top", "top")
  }
  prof("s")
  for (i = 1; i <= DETN && i <= 3; i++) {
    h = i == 1 ? H1 " " H1D : (i == 2 ? H2 " " H2D : H3 " " H3D)
    if (split(h, b, " ") == 4 && b[4] * 100 >= HOTMIN * DT) hot(b[1], b[2], b[3], b[4])
  }
  for (i = 1; i <= NALL; i++) ladd("all", "all", ALL[i])
  lend("all", "all")
  prof("hot")
  if (FUSE == "on") fuse_forward()
  if (PROF) { emit("prof", PROFS); PROFS = "" }
  nowup(); WORK = UCS - SUCS # wall clock of this sample, in the next s record
  if (SP) fflush(PORTDEV)
  if (SYNC) reply("d")
}
BEGIN {
  split(rd("/proc/self/stat"), a, " "); AWP = a[1]
  NUL = sprintf("%c", 0); CTL = ""
  for (i = 1; i < 32; i++) CTL = CTL sprintf("%c", i)
  CTL = CTL sprintf("%c", 127)
  SEQ = 0; LAST = ""; NTP = 0; NK = 0; WORK = 0; LISTS = 0; LB = ""; LP = 0; GONE = ""
  nowup(); START_CS = UCS; PREVCS = UCS
  SHT = ticksof("/proc/" SHP "/stat"); HC[AWP] = ticksof("/proc/" AWP "/stat")
  SELF0 = selft(); SELFP = SELF0; NS0 = selfns(); NSP = NS0; PROFT = NS0
  BUSYP = 0
  reply("r")
}
$1 == "t" { sample($2); next }
$1 == "q" { exit 0 }
'
AWP=
awk_start() { # -> AWP, fd 4 (sample requests to awk); its requests/replies come on fd 3 (async) or fd 5 (SYNC)
  [ -n "$STATEDIR" ] || return 1
  _fi=$STATEDIR/.vfs-probe-in.$$ _fo=$STATEDIR/.vfs-probe-out.$$
  rm -f "$_fi" "$_fo"
  mkfifo "$_fi" 2>/dev/null || return 1
  exec 4<>"$_fi"
  if [ $READU = 1 ]; then ASYNC=1 _req=$WAITFIFO
  else
    mkfifo "$_fo" 2>/dev/null || { exec 4>&-; rm -f "$_fi"; return 1; }
    exec 5<>"$_fo"; ASYNC=0 _req=$_fo
  fi
  # which awk: gawk or busybox awk when present; mawk fills its whole input buffer before it hands a line over unless
  # -W interactive, and then reads files only up to their first NUL (command lines are cut at the first argument)
  _aw=awk _ao= _mi=0
  if [ -n "${VFS_PROBE_AWK:-}" ]; then _aw=$VFS_PROBE_AWK # e.g. "busybox awk", /usr/bin/mawk (tests)
  elif command -v gawk >/dev/null 2>&1; then _aw=gawk
  elif command -v busybox >/dev/null 2>&1 && busybox awk 'BEGIN { exit 0 }' </dev/null >/dev/null 2>&1; then _aw='busybox awk'
  fi
  case $_aw in
    gawk | 'busybox awk') ;;
    *) case $($_aw -W version 2>&1 </dev/null) in *mawk*) _ao='-W interactive' _mi=1 ;; esac ;;
  esac
  # shellcheck disable=SC2086
  $_aw $_ao -v MAWKI=$_mi -v SHP="$SELF" -v TRT="$TRT" -v TRU="$TRU" -v IVCS="$IVCS" -v TOPN="$TOPN" -v DETN="$DETN" -v HOTMIN="$HOTMIN" \
    -v FULLN="$FULLN" -v FUSE="$FUSE" -v TR="$TR" -v FUSE_MAX="$FUSE_MAX" -v MAXREC="$MAXREC" -v PROF="$PROF" \
    -v SK="$SINK_KMSG" -v KPFX="$KPFX" -v SC="$SINK_CON" -v SO="$SINK_STDOUT" -v SP="$SINK_PORT" -v PORTDEV="$PORTDEV" \
    -v SYNC=$((1 - ASYNC)) -v REQ="$_req" "$AWKPROG" <"$_fi" 3<&- 4>&- 5<&- &
  AWP=$!
  _rep=
  if [ $ASYNC = 1 ]; then read -r -t 30 -u 3 _rep; else read -r _rep <&5; fi
  # SYNC: from now on only the sampler holds the reply FIFO open for writing, so its exit reads as end of file
  [ $ASYNC = 0 ] && [ "$_rep" = r ] && { exec 6<"$_fo"; exec 5<&6 6<&-; }
  rm -f "$_fi" "$_fo"
  [ "$_rep" = r ] && return 0
  awk_stop
  return 1
}
awk_stop() { # $1 = wait: let the sampler finish (it ends at the end of its input)
  [ -n "$AWP" ] || return 0
  exec 4>&-
  [ "$ASYNC" = 0 ] && exec 5<&-
  [ "${1:-}" = wait ] || kill "$AWP" 2>/dev/null
  wait "$AWP" 2>/dev/null
  AWP=
}
list_tasks() { set +f; set -- /proc/[0-9]*/task/[0-9]*; set -f; echo "L $*" >&4; }
# pause_serve CS: wait CS centiseconds, answering the sampler's task-list requests ("l ELAPSED_CS") meanwhile
pause_serve() {
  _left=$1
  while [ "$_left" -gt 5 ]; do
    _rq= _el=
    read -r -t "$((_left / 100)).$((_left % 100 / 10))$((_left % 10))" -u 3 _rq _el || return 0 # the timeout
    [ "$_rq" = l ] || continue
    list_tasks || return 1
    case $_el in '' | *[!0-9]*) _el=0 ;; esac
    _left=$((_left - _el - 1))
  done
}
awk_loop() { # returns 0 after VFS_PROBE_SAMPLES samples, 1 when the awk sampler died or hangs
  # per sample (busybox ash, bash): one "t" line to the sampler and the pause (read -t on fd 3), a handful of shell
  # commands (every wakeup is expensive under emulation). The sampler writes on fd 3 only to ask for the task list.
  # Without read -t (dash) every sample is answered ("d", or "l" first) and the pause is sleep(1).
  # every 5th sample (every one if VFS_PROBE_FULL is not a multiple of 5): is the sampler alive; on full samples
  # also the realtime clock
  _step=5; [ $((FULLN % 5)) -eq 0 ] || _step=1
  _next=$_step
  _ivs="$((IVCS / 100)).$((IVCS % 100 / 10))$((IVCS % 10))"
  while :; do
    SEQ=$((SEQ + 1)) _e=
    if [ $SEQ = $_next ]; then
      _next=$((_next + _step))
      kill -0 "$AWP" 2>/dev/null || return 1
      if [ "$FULLN" -gt 0 ] && [ $((SEQ % FULLN)) -eq 0 ]; then
        _e=$(date +%s); case $_e in '' | *[!0-9]*) _e= ;; esac
        [ -n "$_e" ] && { now; TRT=$_e; TRU=$UCS; }
      fi
    fi
    echo "t $_e" >&4 || return 1
    if [ $ASYNC = 1 ]; then
      if read -r -t "$_ivs" -u 3 _rq _el && [ "$_rq" = l ]; then
        list_tasks || return 1
        case $_el in '' | *[!0-9]*) _el=0 ;; esac
        pause_serve $((IVCS - _el - 1)) || return 1
      fi
    else
      while :; do
        _rep=
        read -r _rep <&5
        case $_rep in
          d) break ;;
          l) list_tasks || return 1 ;;
          *) return 1 ;;
        esac
      done
      [ "$SEQ" = "$SAMPLES" ] || pause "$IVCS"
    fi
    [ "$SEQ" = "$SAMPLES" ] && return 0
  done
}

# ---- waiting without forking: read -t on a FIFO nobody writes (busybox ash, bash); else sleep(1) --------
WAITFD=0 READU=0 STATEDIR= WAITFIFO= ASYNC=0
wait_setup() {
  for _dir in "${VFS_PROBE_STATE:-}" /run /dev/shm /tmp /dev; do
    [ -n "$_dir" ] && [ -d "$_dir" ] && [ -w "$_dir" ] || continue
    _ff=$_dir/.vfs-probe.$$
    mkfifo "$_ff" 2>/dev/null || continue
    STATEDIR=$_dir
    exec 3<>"$_ff"
    WAITFIFO=$_ff # removed once the awk sampler opened it (main)
    # does `read -t` take fractions and time out? (dash has no -t: the test fails and sleep is used)
    _e=$( { read -t 0.01 _z <&3 && echo data; } 2>&1 )
    [ -z "$_e" ] && WAITFD=1
    # read -u FD -n 1 (busybox ash, bash): no redirection per read, one byte at a time
    _e=$( { read -t 0.01 -n 1 -u 3 _z && echo data; } 2>&1 )
    [ $WAITFD = 1 ] && [ -z "$_e" ] && READU=1
    [ $WAITFD = 1 ] || { exec 3<&-; rm -f "$_ff"; WAITFIFO=; }
    return
  done
}
pause() { # centiseconds
  if [ $WAITFD = 1 ]; then read -t "$(($1 / 100)).$(($1 % 100 / 10))$(($1 % 10))" _z <&3
  else sleep "$(($1 / 100)).$(($1 % 100 / 10))$(($1 % 10))"; fi
}

# ---- VFS_PROBE_BENCH=1: time the building blocks (20 rounds each, CPU ticks of the probe + children), then exit ----
if [ "${VFS_PROBE_BENCH:-0}" = 1 ]; then
  wait_setup; [ -n "$WAITFIFO" ] && rm -f "$WAITFIFO"
  get_self; SELF0=$SELFT; now; T=0; _res=
  b() { _bn=$1 _bc=$2 _n=0; get_self; _b0=$SELFT; while [ $_n -lt 10 ]; do eval "$_bc"; _n=$((_n + 1)); done; get_self; _res="$_res,\"$_bn\":$((SELFT - _b0))"; now; emit bench "$_res"; }
  set +f
  b fork '_x=$(:)'
  b forkexec '_x=$(/bin/true)'
  b grep1 '_x=$(grep -h "" /proc/1/stat)'
  b grepall '_x=$(grep -h "" /proc/[0-9]*/stat)'
  b catall '_x=$(cat /proc/[0-9]*/stat)'
  b glob 'for _f in /proc/[0-9]*/stat; do :; done'
  b readall 'for _f in /proc/[0-9]*/stat; do read -r _l <"$_f"; done'
  b read1 'read -r _l </proc/1/stat'
  b uptime 'read -r _l </proc/uptime'
  _x=$(grep -h "" /proc/[0-9]*/stat)
  b scan 'IFS=$NL; set -- $_x; for _l in $_x; do if [ "$_l" = "$1" ]; then shift; case $_l in *") "[RD]" "*) ;; esac; continue; fi; done; IFS=" "'
  _p=$(printf "%0700d" 0)
  b kmsg700 'printf "%s\n" "vfs-probe: bench $_p" >/dev/kmsg'
  _q=$(printf "%0100d" 0)
  b kmsg100 'printf "%s\n" "vfs-probe: bench $_q" >/dev/kmsg'
  b stack 'while read -r _a _b _c; do :; done </proc/1/stack'
  # the awk sampler's building blocks: microseconds per operation (wall clock over N rounds, nothing else running)
  _ab='function up(  l, a) { getline l < "/proc/uptime"; close("/proc/uptime"); split(l, a, " "); return a[1] * 1e6 }
function rd(f,  l) { getline l < f; close(f); return l }
function b(name, f, n,  t, i, x, a, k, c) {
  t = up()
  for (i = 0; i < n; i++) {
    if (f == "split") { x = rd("/proc/1/stat"); split(substr(x, index(x, ")") + 2), a, " ") }
    else if (f == "cmp") { x = rd("/proc/1/stat"); if (x == PREV && x !~ /\) [RD] /) c++; PREV = x }
    else if (f == "port") { printf "%s\n", PAD > PORT; fflush(PORT) }
    else if (f == "kmsg") { printf "<15>%s\n", PAD > "/dev/kmsg"; close("/dev/kmsg") }
    else if (f == "loop50") { for (k in ARR) if (!(k in KTH)) c++ }
    else if (f == "concat") { x = ""; for (k = 0; k < 20; k++) x = x ",\"f" k "\":" k }
    else if (f == "nop") x = i
    else x = rd(f)
  }
  R = R ",\"" name "\":" int((up() - t) / n)
}
BEGIN { PAD = sprintf("%300s", "x"); N = 500
  for (i = 0; i < 50; i++) { ARR[i * 7] = 1; if (i % 5) KTH[i * 7] = 1 }
  b("nop", "nop", N); b("uptime", "/proc/uptime", N); b("loadavg", "/proc/loadavg", N); b("stat", "/proc/stat", N)
  b("pstat", "/proc/1/stat", N); b("split", "split", N); b("cmp", "cmp", N); b("schedstat", "/proc/1/schedstat", N)
  b("wchan", "/proc/1/wchan", N); b("syscall", "/proc/1/syscall", N); b("stack", "/proc/1/stack", N)
  b("loop50", "loop50", N); b("concat20", "concat", N); b("kmsg300", "kmsg", N)
  if (PORT != "") b("port300", "port", N)
  print substr(R, 2) }'
  _r=$(awk -v PORT="$PORTDEV" "$_ab" 2>&1)
  emit bench ",\"awk_us\":{$_r}"
  # wakeup costs (ns of CPU per wakeup, from schedstat): the shell waking from read -t; an awk woken by a line
  if [ $WAITFD = 1 ] && [ -r /proc/$$/schedstat ]; then
    read -r _s0 _x </proc/$$/schedstat; _n=0
    while [ $_n -lt 50 ]; do read -t 0.02 _z <&3; _n=$((_n + 1)); done
    read -r _s1 _x </proc/$$/schedstat
    mkfifo "$STATEDIR/.vfs-bench.$$" && exec 6<>"$STATEDIR/.vfs-bench.$$"
    _ao=; case $(awk -W version 2>&1 </dev/null) in *mawk*) _ao='-W interactive' ;; esac
    # shellcheck disable=SC2086
    awk $_ao '{ n++ } $1 == "e" { split("", a); getline l < ("/proc/" $2 "/schedstat"); print l > "/dev/stderr"; exit }' <"$STATEDIR/.vfs-bench.$$" 2>"$STATEDIR/.vfs-bench-out.$$" 6<&- &
    _bp=$!
    echo "x" >&6; read -t 0.1 _z <&3
    read -r _a0 _x </proc/$_bp/schedstat; _n=0
    while [ $_n -lt 50 ]; do echo "x" >&6; read -t 0.02 _z <&3; _n=$((_n + 1)); done
    read -r _a1 _x </proc/$_bp/schedstat
    echo "e $_bp" >&6; wait $_bp; exec 6>&-; rm -f "$STATEDIR/.vfs-bench.$$" "$STATEDIR/.vfs-bench-out.$$"
    emit bench ",\"wake_ns\":{\"sh_read_t\":$(((_s1 - _s0) / 50)),\"awk_line\":$(((_a1 - _a0) / 50))}"
  fi
  set -f
  now; emit bench "$_res,\"ntasks\":$(set +f; set -- /proc/[0-9]*; echo $#)"
  [ -n "$WPID" ] && wait "$WPID"
  flush_async; wait
  exit 0
fi

# ---- main ---------------------------------------------------------------------------------------
# On exit, leave the kernel's tracing as we found it: the fuse tracepoint is switched off again.
fuse_off() {
  [ "$FUSE" = on ] || return 0
  echo 0 >"$TR/events/fuse/fuse_request_send/enable" 2>/dev/null
  [ -n "$TCLK_OLD" ] && [ "$TCLK_OLD" != boot ] && echo "$TCLK_OLD" >"$TR/trace_clock" 2>/dev/null
  return 0
}
trap 'now; T=$((TRT + (UCS - TRU) / 100)); emit bye ",\"why\":\"signal\""; flush_async; awk_stop; fuse_off; exit 0' TERM INT HUP
fuse_setup
wait_setup
now; START_CS=$UCS; PREVCS=$UCS
get_self; SELF0=$SELFT; SELFP=$SELFT
TRT=$(date +%s); TRU=$UCS; T=$TRT
case $TRT in '' | *[!0-9]*) TRT=0 ;; esac
read -r _kv 2>/dev/null </proc/sys/kernel/osrelease || _kv=
# the awk sampler unless VFS_PROBE_ENGINE=sh, awk is missing, or a sink needs the background writer (port, logger)
MODE=sh
if [ "${VFS_PROBE_ENGINE:-auto}" != sh ] && [ $SINK_LOG = 0 ] && command -v awk >/dev/null 2>&1; then
  awk_start && MODE=awk
fi
[ -n "$WAITFIFO" ] && rm -f "$WAITFIFO"
WAITHOW=sleep; [ $WAITFD = 1 ] && WAITHOW=read
emit hello ",\"v\":$PROBE_VERSION,\"pid\":$SELF,\"iv\":$IVCS,\"hz\":100,\"out\":\"$SINKS\",\"port\":\"$PORTDEV\",\"fuse\":\"$FUSE\",\"wait\":\"$WAITHOW\",\"kernel\":\"$_kv\",\"top\":$TOPN,\"full\":$FULLN,\"maxrec\":$MAXREC,\"mode\":\"$MODE\",\"tclock\":\"$TCLK\""
flush_async
if [ $MODE = awk ]; then
  if awk_loop; then
    awk_stop wait; now; T=$((TRT + (UCS - TRU) / 100)); emit bye ",\"why\":\"samples\""; fuse_off; exit 0
  fi
  # the awk sampler died or stopped answering: the shell sampler takes over (it starts from a full sample)
  awk_stop; MODE=sh; now; emit hello ",\"v\":$PROBE_VERSION,\"pid\":$SELF,\"iv\":$IVCS,\"hz\":100,\"out\":\"$SINKS\",\"mode\":\"sh\",\"why\":\"awk\""
fi
while :; do
  SEQ=$((SEQ + 1))
  sample
  report
  flush_async
  [ "$SAMPLES" -gt 0 ] && [ "$SEQ" -ge "$SAMPLES" ] && break
  now
  _rest=$((IVCS - (UCS - SUCS)))
  [ "$_rest" -lt 5 ] && _rest=5
  pause "$_rest"
done
now; emit bye ",\"why\":\"samples\""; flush_async; fuse_off
wait
