# shellcheck shell=bash
# lib.sh - shared by the end-to-end tests: start virtual boards, drive the
# stock dfu-util and lsusb through the USB/IP libusb, count results.
# Source it from a test script; every case calls pass/fail, and the script
# ends with `finish`, which prints the closing "N passed, N failed".
#
# Boards are named (vb_start NAME ...); each has a log ($WORK/NAME.log), a
# USB/IP port and a mark: vb_mark NAME makes vb_wait/vb_count/vb_since look
# only at the lines logged after it.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=$ROOT/build
VBOARD=$B/host/vboard
STAMP=$B/host/dfuboot-stamp
DFU_UTIL=${DFU_UTIL:-/usr/bin/dfu-util}
LSUSB=${LSUSB:-/usr/bin/lsusb}
export LD_LIBRARY_PATH=$B/host
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dfuboot-e2e.XXXXXX")
DFU_OUT=$WORK/dfu.out # output of the last dfu_q / dfu_on
npass=0
nfail=0
T0=$(date +%s%N)
declare -A VB_PID VB_PORT VB_LOG VB_MARK

pass() { echo "ok   $1"; npass=$((npass + 1)); }
# fail CASE MESSAGE: the message says what was expected and what happened;
# the tail of every board's log follows.
fail() {
    echo "FAIL $1: $2"
    nfail=$((nfail + 1))
    local n rc
    for n in "${!VB_LOG[@]}"; do
        [ -s "${VB_LOG[$n]}" ] || continue
        echo "   vboard '$n' log (last ${LOG_TAIL:-15} lines):"
        vb_show_log "$n" "${LOG_TAIL:-15}"
    done
    # A board that should run but died (crash, bind failure) says so.
    for n in "${!VB_PID[@]}"; do
        kill -0 "${VB_PID[$n]}" 2>/dev/null && continue
        wait "${VB_PID[$n]}" 2>/dev/null
        rc=$?
        echo "   vboard '$n' (pid ${VB_PID[$n]}) is not running: exit status $rc$([ $rc -gt 128 ] && echo " (signal $(kill -l $((rc - 128)) 2>/dev/null))")"
        unset "VB_PID[$n]"
    done
}
# check NAME COMMAND...: passes when the command succeeds.
check() {
    local name=$1
    shift
    if "$@"; then pass "$name"; else fail "$name" "command failed: $*"; fi
}

# The output of the last dfu-util/lsusb run, indented, for failure messages.
show_out() { sed 's/^/   > /' "${1:-$DFU_OUT}" | grep -v '^   > *$' | tail -${2:-12}; }

cleanup() {
    local n
    for n in "${!VB_PID[@]}"; do kill -9 "${VB_PID[$n]}" 2>/dev/null; done
    wait 2>/dev/null
    [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

finish() {
    echo "# $(basename "$0"): $(( ($(date +%s%N) - T0) / 1000000 )) ms"
    echo "$npass passed, $nfail failed"
    [ "$nfail" -eq 0 ]
}

need() {
    local f
    for f in "$@"; do
        [ -e "$f" ] || { echo "FAIL prerequisites: $f is missing (run make)"; echo "0 passed, 1 failed"; exit 1; }
    done
}
need "$VBOARD" "$STAMP" "$B/host/libusb-1.0.so.0" "$DFU_UTIL"

# A TCP port on 127.0.0.1 that nobody listens on, below Linux's ephemeral
# range (32768..) so that no outgoing connection holds it either.
free_port() {
    local p
    for _ in $(seq 200); do
        p=$((20000 + RANDOM % 12000))
        (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; return 0; }
    done
    return 1
}

# vb_start NAME [vboard options...] [FIRMWARE]: starts a board in the
# background on a free port; its output is appended to $WORK/NAME.log (a
# restart of the same NAME continues the log; the mark moves to its end).
# Returns once vboard reports its power-on reset; a port taken meanwhile by
# someone else ("cannot listen") is retried on another port.
vb_start() {
    local name=$1 port i
    shift
    VB_LOG[$name]=$WORK/$name.log
    touch "${VB_LOG[$name]}"
    for _ in 1 2 3; do
        port=$(free_port)
        VB_PORT[$name]=$port
        vb_mark "$name"
        "$VBOARD" --port "$port" "$@" >>"${VB_LOG[$name]}" 2>&1 &
        VB_PID[$name]=$!
        for ((i = 0; i < 200; i++)); do
            # (vboard goes on after "cannot listen": look for it last.)
            vb_since "$name" | grep -q "reset (power-on)" && break
            kill -0 "${VB_PID[$name]}" 2>/dev/null || break
            sleep 0.05
        done
        vb_since "$name" | grep -q "cannot listen" || return 0
        echo "# vb_start $name: port $port: $(vb_since "$name" | grep -m1 "cannot listen"); retrying"
        kill -9 "${VB_PID[$name]}" 2>/dev/null
        wait "${VB_PID[$name]}" 2>/dev/null
        unset "VB_PID[$name]"
    done
    return 1
}

# vb_mark NAME: later vb_wait/vb_count/vb_since see only lines after this.
vb_mark() { VB_MARK[$1]=$(wc -l <"${VB_LOG[$1]}"); }
vb_since() { tail -n +$((${VB_MARK[$1]:-0} + 1)) "${VB_LOG[$1]}"; }
vb_count() { vb_since "$1" | grep -cE -- "$2"; }

# wait_for SECS COMMAND...: polls COMMAND every 50 ms until it succeeds or
# SECS seconds have passed. For checks over a log that grows (a count
# since a mark can be reached before the lines the check reads exist).
wait_for() {
    local secs=$1 i
    shift
    for ((i = 0; i < secs * 20; i++)); do
        "$@" && return 0
        sleep 0.05
    done
    "$@"
}

# vb_wait NAME REGEX [SECONDS] [COUNT]: waits until the board's log has COUNT
# (default 1) lines matching REGEX after the mark. Fails at the timeout or
# when the board exits.
vb_wait() {
    local name=$1 re=$2 secs=${3:-20} count=${4:-1} i
    for ((i = 0; i < secs * 20; i++)); do
        [ "$(vb_count "$name" "$re")" -ge "$count" ] && return 0
        [ -n "${VB_PID[$name]:-}" ] && kill -0 "${VB_PID[$name]}" 2>/dev/null || break
        sleep 0.05
    done
    [ "$(vb_count "$name" "$re")" -ge "$count" ]
}

# vb_stop NAME: SIGTERM, which must end vboard cleanly (status 0); a board
# that already died (crashed) or does not stop cleanly is a failure.
vb_stop() {
    local name=$1 pid=${VB_PID[$1]:-} rc
    [ -n "$pid" ] || return 0
    if ! kill -0 "$pid" 2>/dev/null; then
        wait "$pid" 2>/dev/null
        rc=$?
        unset "VB_PID[$name]"
        fail "vboard_${name}_alive" "expected vboard '$name' to run until stopped; it had exited with status $rc$([ $rc -gt 128 ] && echo " (signal $(kill -l $((rc - 128)) 2>/dev/null))")"
        return 1
    fi
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rc=$?
    unset "VB_PID[$name]"
    if [ $rc != 0 ]; then
        fail "vboard_${name}_clean_stop" "expected exit status 0 after SIGTERM; got $rc"
        return 1
    fi
}

vb_kill() {
    local name=$1
    [ -n "${VB_PID[$name]:-}" ] || return 0
    kill -KILL "${VB_PID[$name]}" 2>/dev/null
    wait "${VB_PID[$name]}" 2>/dev/null
    unset "VB_PID[$name]"
}

# vb_reset NAME: presses the reset button (SIGUSR1); moves the mark first.
vb_reset() { vb_mark "$1"; kill -USR1 "${VB_PID[$1]}"; }

vb_show_log() { sed "s/^/   | /" "${VB_LOG[$1]}" | tail -${2:-20}; }

# dfu NAME dfu-util-args...: runs the stock dfu-util against board NAME.
dfu() {
    local name=$1
    shift
    LIBUSB_USBIP_SERVERS=127.0.0.1:${VB_PORT[$name]} timeout 60 "$DFU_UTIL" "$@"
}
# dfu_q NAME args...: the same, output kept in $DFU_OUT; returns its status.
dfu_q() { dfu "$@" >"$DFU_OUT" 2>&1; }
# dfu_on SERVERS args...: dfu-util with an explicit LIBUSB_USBIP_SERVERS.
dfu_on() {
    local servers=$1
    shift
    LIBUSB_USBIP_SERVERS=$servers timeout 60 "$DFU_UTIL" "$@" >"$DFU_OUT" 2>&1
}
# lsusb_q NAME args...: lsusb against board NAME, output in $DFU_OUT.
lsusb_q() {
    local name=$1
    shift
    LIBUSB_USBIP_SERVERS=127.0.0.1:${VB_PORT[$name]} timeout 60 "$LSUSB" "$@" >"$DFU_OUT" 2>&1
}

# make_app OUT SIZE [BASE] [BOARD]: a valid, stamped application of at least
# SIZE bytes for BASE: blinky followed by a pseudo-random filler (fixed
# seed per size).
app_dir() {
    local base=${1:-0x08002000} board=${2:-bluepill}
    if [ "$((base))" = "$((0x08002000))" ]; then
        echo "$B/app/$board"
    else
        echo "$B/app/$board-app$(printf %08x "$((base))")"
    fi
}
make_app() {
    local out=$1 size=$2 base=${3:-0x08002000} board=${4:-bluepill}
    local blinky have
    blinky=$(app_dir "$base" "$board")/blinky.bin
    cp "$blinky" "$out" || return 1
    have=$(stat -c %s "$out")
    [ "$size" -gt "$have" ] && filler $((size - have)) "$size" >>"$out"
    "$STAMP" --base "$base" "$out" >/dev/null
}

# Deterministic filler bytes without extra tools: seeded by the second argument.
filler() {
    local n=$1 seed=$2
    LC_ALL=C awk -v n="$n" -v s="$seed" 'BEGIN { srand(s); for (i = 0; i < n; i++) printf "%c", int(rand() * 256) }'
}

# Flash-file helpers. A --flash file is the flash followed by 16 option bytes.
# flash_bytes FILE OFFSET COUNT > out: a slice of the flash file.
flash_bytes() { tail -c +$(($2 + 1)) "$1" | head -c "$3"; }
# is_erased FILE OFFSET COUNT: every byte 0xFF.
is_erased() {
    [ "$(flash_bytes "$1" "$2" "$3" | wc -c)" -eq "$3" ] &&
        [ -z "$(flash_bytes "$1" "$2" "$3" | LC_ALL=C tr -d '\377' | head -c 1 | od -An -tx1)" ]
}
# poke FILE OFFSET HEXBYTE: writes one byte in place.
poke() { printf "\\x$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
# hexbyte FILE OFFSET: the byte as two hex digits.
hexbyte() { flash_bytes "$1" "$2" 1 | od -An -tx1 | tr -d ' \n'; }
# mk_flash FILE PART FW: a fresh flash file (FW at 0, rest erased) made by vboard.
mk_flash() {
    rm -f "$1"
    timeout 20 "$VBOARD" --port 0 --fast --quiet-gpio --part "$2" --flash "$1" --exit-after 0.001 "$3" >/dev/null 2>&1
    [ -s "$1" ]
}
# flash_size PART: bytes of flash of a vboard part.
flash_size() { case $1 in f103c8) echo 65536 ;; f103cb) echo 131072 ;; f103rc) echo 262144 ;; esac; }
