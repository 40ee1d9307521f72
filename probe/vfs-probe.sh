#!/bin/sh
# vfs-probe: a dependency-free guest probe for vfs-analyze (POSIX sh; busybox ash, dash, bash).
#
# Once per interval it samples /proc (every process and thread: comm, cmdline, state, parent, CPU time),
# details the tasks that used the most CPU since the previous sample (wchan, /proc/PID/syscall, kernel stack),
# optionally forwards fuse_request_send tracepoint lines (they carry the FUSE `unique`), and writes one compact
# JSON object per line:  vfs-probe: {"vfsprobe":1,"k":KIND,"n":SAMPLE,"t":REALTIME_S,"up":UPTIME_S,...}
# See probe/README.md for the record format. Writing to /dev/kmsg never blocks; other sinks are written by at most
# one background writer at a time and records are dropped (counted in "drop") while it is stuck.
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
FULLN=${VFS_PROBE_FULL:-30}
FUSE_WANT=${VFS_PROBE_FUSE:-1}
FUSE_MAX=${VFS_PROBE_FUSE_MAX:-16}
MAXREC=${VFS_PROBE_MAXREC:-800}
SAMPLES=${VFS_PROBE_SAMPLES:-0}
PROF=${VFS_PROBE_PROF:-0}
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
  [ $SINK_KMSG = 1 ] && { printf '%s\n' "vfs-probe: $_rec" >/dev/kmsg; } 2>/dev/null
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
  if [ -n "$LB" ] && [ $((${#LB} + ${#3} + 60)) -gt "$MAXREC" ]; then
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
TR= FUSE=absent
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
  { echo 64 >"$TR/buffer_size_kb"; echo >"$TR/trace"; echo 1 >"$TR/events/fuse/fuse_request_send/enable"; } 2>/dev/null \
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
# Per sample ONE fork: `cat /proc/[0-9]*/stat` (process level: a process's ticks are the sum over its threads). The
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
  jstr "$_w" 64; _w=$J; jstr "$_sc" 200; _sc=$J; jstr "$_stk" 400; _stk=$J
  emit hot ",\"tid\":$1,\"pid\":$2,\"st\":\"$3\",\"cpu\":$4,\"comm\":\"$_cm\",\"wchan\":\"$_w\",\"sc\":\"$_sc\",\"stack\":\"$_stk\""
}

# ---- waiting without forking: read -t on a FIFO nobody writes (busybox ash, bash); else sleep(1) --------
WAITFD=0
wait_setup() {
  for _dir in "${VFS_PROBE_STATE:-}" /run /dev/shm /tmp; do
    [ -n "$_dir" ] && [ -d "$_dir" ] && [ -w "$_dir" ] || continue
    _ff=$_dir/.vfs-probe.$$
    mkfifo "$_ff" 2>/dev/null || continue
    exec 3<>"$_ff"
    rm -f "$_ff"
    # does `read -t` take fractions and time out? (dash has no -t: the test fails and sleep is used)
    _e=$( { read -t 0.01 _z <&3 && echo data; } 2>&1 )
    [ -z "$_e" ] && WAITFD=1
    [ $WAITFD = 1 ] || exec 3<&-
    return
  done
}
pause() { # centiseconds
  if [ $WAITFD = 1 ]; then read -t "$(($1 / 100)).$(($1 % 100 / 10))$(($1 % 10))" _z <&3
  else sleep "$(($1 / 100)).$(($1 % 100 / 10))$(($1 % 10))"; fi
}

# ---- VFS_PROBE_BENCH=1: time the building blocks (20 rounds each, CPU ticks of the probe + children), then exit ----
if [ "${VFS_PROBE_BENCH:-0}" = 1 ]; then
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
  set -f
  now; emit bench "$_res,\"ntasks\":$(set +f; set -- /proc/[0-9]*; echo $#)"
  exit 0
fi

# ---- main ---------------------------------------------------------------------------------------
# On exit, leave the kernel's tracing as we found it: the fuse tracepoint is switched off again.
fuse_off() { [ "$FUSE" = on ] && echo 0 >"$TR/events/fuse/fuse_request_send/enable" 2>/dev/null; return 0; }
trap 'now; emit bye ",\"why\":\"signal\""; flush_async; fuse_off; exit 0' TERM INT HUP
fuse_setup
wait_setup
now; START_CS=$UCS; PREVCS=$UCS
get_self; SELF0=$SELFT; SELFP=$SELFT
TRT=$(date +%s); TRU=$UCS; T=$TRT
read -r _kv 2>/dev/null </proc/sys/kernel/osrelease || _kv=
emit hello ",\"v\":$PROBE_VERSION,\"pid\":$SELF,\"iv\":$IVCS,\"hz\":100,\"out\":\"$SINKS\",\"port\":\"$PORTDEV\",\"fuse\":\"$FUSE\",\"wait\":\"$([ $WAITFD = 1 ] && echo read || echo sleep)\",\"kernel\":\"$_kv\",\"top\":$TOPN,\"full\":$FULLN,\"maxrec\":$MAXREC"
flush_async
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
