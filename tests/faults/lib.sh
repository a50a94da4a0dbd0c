# tests/faults/lib.sh - shared by the fault campaigns: parts, images, a
# template flash file, cutting an update, and the checks after a bad ending.
# Source it; set PART (f103c8|f103rc) and call part_setup.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=$ROOT/build
APP_BASE=0x08002000
APP_OFF=8192
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/dfuboot-faults.XXXXXX")}
mkdir -p "$WORK"
# A snapshot of the host tools and firmware: a campaign keeps testing the
# same binaries even when the tree is rebuilt while it runs.
if [ -z "${FAULTS_BIN:-}" ]; then
    FAULTS_BIN=$WORK/bin
    mkdir -p "$FAULTS_BIN"
    for f in host/vboard host/dfuboot-stamp host/libusb-1.0.so.0 host/faults/cutter host/faults/usbip-drop host/faults/wrp_probe.bin; do
        [ -e "$B/$f" ] && cp "$B/$f" "$FAULTS_BIN/"
    done
    (cd "$B" && tar cf - $(find fw app -name '*.bin')) | tar xf - -C "$FAULTS_BIN"
    export FAULTS_BIN
fi
VBOARD=$FAULTS_BIN/vboard
STAMP=$FAULTS_BIN/dfuboot-stamp
CUTTER=$FAULTS_BIN/cutter
DROP=$FAULTS_BIN/usbip-drop
export LD_LIBRARY_PATH=$FAULTS_BIN
npass=0
nfail=0
# vboard options of the boots after a bad ending (paced by default: a paced
# vboard sleeps while dfu-util waits, which keeps the campaign's CPU low).
CHECK_VB_OPTS=${CHECK_VB_OPTS:-}

pass() { echo "ok   $1"; npass=$((npass + 1)); }
fail() { echo "FAIL $1: $2"; nfail=$((nfail + 1)); }
finish() {
    echo "$npass passed, $nfail failed"
    [ "$nfail" -eq 0 ]
}

# Every background process we start is recorded here and killed by its pid
# at exit (never by name).
OUR_PIDS=()
lib_cleanup() {
    local p
    for p in "${OUR_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    sleep 0.2
    for p in "${OUR_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap lib_cleanup EXIT

# part_setup PART [FIRMWARE]: board, firmware, blinky and sizes for a part.
part_setup() {
    P_PART=$1
    case $1 in
    f103c8) P_BOARD=bluepill P_FLASH=65536 P_PAGE=1024 ;;
    f103rc) P_BOARD=generic_f103rc P_FLASH=262144 P_PAGE=2048 ;;
    *) echo "unknown part $1" >&2; return 1 ;;
    esac
    P_FW=${2:-$FAULTS_BIN/fw/$P_BOARD/dfuboot.bin}
    P_BLINKY=$FAULTS_BIN/app/$P_BOARD/blinky.bin
    P_VB=(--part "$P_PART" --board "$P_BOARD")
}

# Deterministic filler bytes (seeded).
filler() {
    LC_ALL=C awk -v n="$1" -v s="$2" 'BEGIN { srand(s); for (i = 0; i < n; i++) printf "%c", int(rand() * 256) }'
}

# make_image OUT SIZE SEED: a stamped application of about SIZE bytes for the
# current part: blinky followed by seeded filler.
make_image() {
    local out=$1 size=$2 seed=$3 have
    cp "$P_BLINKY" "$out"
    have=$(stat -c %s "$out")
    [ "$size" -gt "$have" ] && filler $((size - have)) "$seed" >>"$out"
    "$STAMP" --base $APP_BASE "$out" >/dev/null
}

# make_plain OUT SIZE SEED: the same without a stamp (the boot check then
# has only the vector table's plausibility).
make_plain() {
    local out=$1 size=$2 seed=$3 have
    cp "$P_BLINKY" "$out"
    have=$(stat -c %s "$out")
    [ "$size" -gt "$have" ] && filler $((size - have)) "$seed" >>"$out"
    return 0
}

# make_template OUT APP: a flash file with the bootloader and APP written
# behind it (as an SWD programmer would), factory option bytes.
make_template() {
    local out=$1 app=$2
    rm -f "$out"
    "$VBOARD" "${P_VB[@]}" --flash "$out" --port 0 --exit-after 0.001 "$P_FW" >/dev/null 2>&1
    [ "$(stat -c %s "$out" 2>/dev/null)" = $((P_FLASH + 16)) ] || return 1
    dd if="$app" of="$out" bs=1 seek=$APP_OFF conv=notrunc status=none
}

# has_image FLASHFILE IMAGE: the image sits complete at APP_BASE.
has_image() { cmp -s -n "$(stat -c %s "$2")" "$2" "$1" -i 0:$APP_OFF; }
# same_boot FLASHFILE TEMPLATE: bootloader pages and option bytes unchanged.
same_boot() {
    cmp -s -n $APP_OFF "$1" "$2" && cmp -s -i $P_FLASH:$P_FLASH "$1" "$2"
}

# vb_bg LOG VBOARD-ARGS...: starts vboard in the background, pid in VBPID.
vb_bg() {
    local log=$1
    shift
    "$VBOARD" "$@" >>"$log" 2>&1 &
    VBPID=$!
    OUR_PIDS+=("$VBPID")
}
# vb_up LOG VBOARD-ARGS...: like vb_bg on a free port (in PORT), retried on
# another port when the chosen one is taken meanwhile (vboard then says
# "cannot listen" and stops): other programs on this machine pick ports too.
vb_up() {
    local log=$1 try
    shift
    for try in 1 2 3 4 5; do
        PORT=$(free_port)
        : >"$log"
        vb_bg "$log" "$@" --port "$PORT"
        wait_re "$log" 'reset \(power-on\)|cannot listen' 30 "$VBPID"
        grep -q 'cannot listen' "$log" || return 0
        kill -9 "$VBPID" 2>/dev/null
        wait "$VBPID" 2>/dev/null
    done
    return 1
}
vb_end() { # vb_end PID: clean stop (SIGTERM), then make sure
    kill -TERM "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

# wait_re LOG REGEX SECS [PID] [COUNT]: waits for COUNT lines matching REGEX.
# free_port: a TCP port on 127.0.0.1 that nobody listens on.
free_port() {
    local p
    for _ in $(seq 200); do
        p=$((20000 + RANDOM % 40000))
        (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; return 0; }
    done
    return 1
}

wait_re() {
    local log=$1 re=$2 secs=$3 pid=${4:-} count=${5:-1} end=$((SECONDS + $3)) n
    while [ $SECONDS -le $end ]; do
        n=$(grep -cE -- "$re" "$log" 2>/dev/null)
        [ "${n:-0}" -ge "$count" ] && return 0
        [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null && break
        sleep 0.1
    done
    n=$(grep -cE -- "$re" "$log" 2>/dev/null)
    [ "${n:-0}" -ge "$count" ]
}

# dfu PORT ARGS...: the stock dfu-util against the board on PORT.
dfu() {
    local port=$1
    shift
    LIBUSB_USBIP_SERVERS=127.0.0.1:$port timeout 60 dfu-util "$@"
}

# app_runs LOG: the application started and the LED toggled twice from its
# SysTick interrupt after that.
app_runs() {
    wait_re "$1" 'app start' 20 "${2:-}" || return 1
    local end=$((SECONDS + 20))
    while [ $SECONDS -le $end ]; do
        [ "$(sed -n '/app start/,$p' "$1" | grep -c 'gpio PC13=')" -ge 2 ] && return 0
        sleep 0.1
    done
    return 1
}

# after_bad_end TAG PORT FLASH TEMPLATE IMG_A IMG_B [IMG_C]: the checks after
# an update ended badly. Boots the flash file without the pin, classifies
# what starts, checks the bootloader bytes, then runs a fresh update of IMG_B
# and checks the application runs. Sets OUTCOME (dfu|A|B|C|partial|brick)
# and PROBLEM (empty when all is well). IMG_C: an image the client itself
# ended a session with (abort-restart: the blocks before its ABORT, which
# the commit rule commits as any ABORT after a block), complete as
# committed. Logs in $WORK/TAG.*.log.
after_bad_end() {
    local tag=$1 port=$2 flash=$3 tmpl=$4 a=$5 b=$6 c=${7:-} log=$WORK/$1.boot.log pid
    OUTCOME=brick PROBLEM=""
    same_boot "$flash" "$tmpl" || PROBLEM="bootloader pages or option bytes changed by the cut"
    vb_up "$log" "${P_VB[@]}" --flash "$flash" $CHECK_VB_OPTS "$P_FW"
    pid=$VBPID port=$PORT
    wait_re "$log" 'usb enumerated|app start' 20 "$pid"
    if grep -q 'app start' "$log"; then
        if has_image "$flash" "$a"; then OUTCOME=A
        elif has_image "$flash" "$b"; then OUTCOME=B
        elif [ -n "$c" ] && has_image "$flash" "$c"; then OUTCOME=C
        else OUTCOME=partial; PROBLEM="partial image started: $(grep -m1 'app start' "$log")"
        fi
    elif grep -q 'usb enumerated' "$log"; then
        OUTCOME=dfu
    else
        OUTCOME=brick; PROBLEM="neither enumerates nor starts an application"
    fi
    local dlog=$WORK/$tag.dfu2.log
    if [ $OUTCOME = dfu ]; then
        # In DFU mode without the pin: update and leave; the new application
        # must start from the bootloader's leave.
        if ! dfu "$port" -a 0 -s $APP_BASE:leave -D "$b" >"$dlog" 2>&1; then
            PROBLEM=${PROBLEM:-"fresh update failed (dfu-util $(tail -1 "$dlog"))"}
            OUTCOME=brick
        elif ! app_runs "$log" "$pid"; then
            PROBLEM=${PROBLEM:-"application does not run after the fresh update"}
            OUTCOME=brick
        fi
        vb_end "$pid"
    else
        vb_end "$pid"
        [ $OUTCOME = brick ] && return 0
        # An application runs: enter DFU mode with the pin, update, reboot.
        local ulog=$WORK/$tag.pin.log
        vb_up "$ulog" "${P_VB[@]}" --flash "$flash" $CHECK_VB_OPTS --pin PB2=1 "$P_FW"
        pid=$VBPID port=$PORT
        if ! wait_re "$ulog" 'usb enumerated' 20 "$pid" ||
            ! dfu "$port" -a 0 -s $APP_BASE:leave -D "$b" >"$dlog" 2>&1; then
            PROBLEM=${PROBLEM:-"fresh update with the pin failed"}
            OUTCOME=brick
        fi
        vb_end "$pid"
        local rlog=$WORK/$tag.run.log
        vb_up "$rlog" "${P_VB[@]}" --flash "$flash" $CHECK_VB_OPTS "$P_FW"
        pid=$VBPID
        app_runs "$rlog" "$pid" || { PROBLEM=${PROBLEM:-"application does not run after the fresh update"}; OUTCOME=brick; }
        vb_end "$pid"
    fi
    has_image "$flash" "$b" || PROBLEM=${PROBLEM:-"flash does not hold B after the fresh update"}
    same_boot "$flash" "$tmpl" || PROBLEM=${PROBLEM:-"bootloader pages or option bytes changed"}
    return 0
}
