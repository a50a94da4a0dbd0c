# lib.sh - shared by the end-to-end tests: start virtual boards, drive the
# stock dfu-util and lsusb through the USB/IP libusb, count results.
# Source it from a test script; every case calls pass/fail, and the script
# ends with `finish`, which prints the closing "N passed, N failed".

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=$ROOT/build
VBOARD=$B/host/vboard
STAMP=$B/host/dfuboot-stamp
export LD_LIBRARY_PATH=$B/host
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dfuboot-e2e.XXXXXX")
npass=0
nfail=0
declare -A VB_PID VB_PORT VB_LOG

pass() { echo "ok   $1"; npass=$((npass + 1)); }
fail() {
    echo "FAIL $1: $2"
    nfail=$((nfail + 1))
}
# check NAME COMMAND...: passes when the command succeeds.
check() {
    local name=$1
    shift
    if "$@"; then pass "$name"; else fail "$name" "command failed: $*"; fi
}

cleanup() {
    local n
    for n in "${!VB_PID[@]}"; do kill -9 "${VB_PID[$n]}" 2>/dev/null; done
    wait 2>/dev/null
    [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

finish() {
    echo "$npass passed, $nfail failed"
    [ "$nfail" -eq 0 ]
}

# A TCP port on 127.0.0.1 that nobody listens on.
free_port() {
    local p
    for _ in $(seq 200); do
        p=$((20000 + RANDOM % 30000))
        (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; return 0; }
    done
    return 1
}

# vb_start NAME [vboard options...] FIRMWARE: starts a board in the
# background; its output goes to $WORK/NAME.log.
vb_start() {
    local name=$1
    shift
    local port
    port=$(free_port)
    VB_PORT[$name]=$port
    VB_LOG[$name]=$WORK/$name.log
    "$VBOARD" --port "$port" "$@" >>"${VB_LOG[$name]}" 2>&1 &
    VB_PID[$name]=$!
}

# vb_wait NAME REGEX [SECONDS] [COUNT]: waits until the board's log has COUNT
# (default 1) lines matching REGEX.
vb_wait() {
    local name=$1 re=$2 secs=${3:-20} count=${4:-1} i
    for ((i = 0; i < secs * 20; i++)); do
        [ "$(grep -cE -- "$re" "${VB_LOG[$name]}" 2>/dev/null)" -ge "$count" ] && return 0
        kill -0 "${VB_PID[$name]}" 2>/dev/null || break
        sleep 0.05
    done
    grep -qcE -- "$re" "${VB_LOG[$name]}" 2>/dev/null && [ "$(grep -cE -- "$re" "${VB_LOG[$name]}")" -ge "$count" ]
}

vb_count() { grep -cE -- "$2" "${VB_LOG[$1]}" 2>/dev/null; }

vb_stop() {
    local name=$1
    kill -TERM "${VB_PID[$name]}" 2>/dev/null
    wait "${VB_PID[$name]}" 2>/dev/null
    unset "VB_PID[$name]"
}

vb_kill() {
    local name=$1
    kill -KILL "${VB_PID[$name]}" 2>/dev/null
    wait "${VB_PID[$name]}" 2>/dev/null
    unset "VB_PID[$name]"
}

vb_show_log() { sed "s/^/   | /" "${VB_LOG[$1]}" | tail -${2:-20}; }

# dfu NAME dfu-util-args...: runs the stock dfu-util against board NAME.
dfu() {
    local name=$1
    shift
    LIBUSB_USBIP_SERVERS=127.0.0.1:${VB_PORT[$name]} timeout 60 dfu-util "$@"
}

# make_app OUT SIZE [BASE]: a valid, stamped application of SIZE bytes for
# BASE: blinky followed by a pseudo-random filler (fixed seed per size).
make_app() {
    local out=$1 size=$2 base=${3:-0x08002000} tag
    tag=$(printf %08x "$base")
    local blinky=$B/app/bluepill/blinky.bin
    [ "$base" = 0x08002000 ] || blinky=$B/app/bluepill-app${tag#0}/blinky.bin
    cp "$blinky" "$out"
    local have
    have=$(stat -c %s "$out")
    [ "$size" -gt "$have" ] && filler $((size - have)) "$size" >>"$out"
    "$STAMP" --base "$base" "$out" >/dev/null
}

# Deterministic filler bytes without extra tools: seeded by the second argument.
filler() {
    local n=$1 seed=$2
    LC_ALL=C awk -v n="$n" -v s="$seed" 'BEGIN { srand(s); for (i = 0; i < n; i++) printf "%c", int(rand() * 256) }'
}
