# shellcheck shell=bash
# lib.sh - tests/linux: one Debian kernel in QEMU (software emulation) as the
# USB host of vboard. The guest attaches vboard with the standard `usbip
# attach` (vhci-hcd), so the kernel's USB stack, the real libusb-1.0,
# dfu-util, lsusb and pyusb talk to the real bootloader binary.
#
# On top of tests/e2e/lib.sh (boards, pass/fail, finish):
#   lx_boot            start QEMU once; the guest serves commands on its
#                      serial console (tests/linux/init)
#   g SECS COMMAND     run COMMAND in the guest; output in $GOUT, status in
#                      $GRC (124 = no answer within SECS)
#   lx_board SLOT NAME [vboard options] FIRMWARE
#                      (re)start board NAME behind guest address SLOT (A is
#                      10.0.2.100, B is 10.0.2.101): QEMU's guestfwd runs
#                      tests/linux/fwd.sh per connection, which reads the
#                      board's current port from $WORK/port.SLOT, so a board
#                      can be restarted on a new port without a new boot.

# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"
LX=$B/linux
QEMU_BIN=${QEMU_BIN:-qemu-system-x86_64}
CONSOLE=$WORK/console.log
GOUT=$WORK/guest.out
GRC=0
GSEQ=0
QEMU_PID=

lx_cleanup() {
    if [ -n "$QEMU_PID" ]; then
        kill -TERM "$QEMU_PID" 2>/dev/null
        wait "$QEMU_PID" 2>/dev/null
    fi
    [ -n "${KEEP_WORK:-}" ] && echo "# work directory kept: $WORK"
}
trap 'lx_cleanup; cleanup' EXIT

declare -A LX_IP=([A]=10.0.2.100 [B]=10.0.2.101)

lx_board() {
    local slot=$1 name=$2
    shift 2
    vb_start "$name" "$@" || return 1
    echo "${VB_PORT[$name]}" >"$WORK/port.$slot.tmp"
    mv "$WORK/port.$slot.tmp" "$WORK/port.$slot"
}

# lx_boot: QEMU with the kernel and initramfs of tests/linux/guest.sh; waits
# for the guest's "@@READY". -smp 1: the other core is vboard's.
lx_boot() {
    local fwd=$ROOT/tests/linux/fwd.sh line s
    local netdev="user,id=n0,restrict=on"
    for s in A B; do
        : >"$WORK/port.$s"
        # The cmd: form runs the forwarder per connection (the tcp: form
        # connects once when QEMU starts, and a second attach hangs).
        netdev+=",guestfwd=tcp:${LX_IP[$s]}:3240-cmd:bash $fwd $WORK/port.$s"
    done
    : >"$CONSOLE"
    coproc LXQ {
        exec env -u LD_LIBRARY_PATH "$QEMU_BIN" -machine q35 -m 512 -smp 1 -nodefaults \
            -display none -no-reboot -serial stdio \
            -kernel "$LX/vmlinuz" -initrd "$LX/initramfs.cpio.gz" \
            -append "console=ttyS0 loglevel=4 panic=-1" \
            -netdev "$netdev" -device virtio-net-pci,netdev=n0,romfile= 2>"$WORK/qemu.err"
    }
    QEMU_PID=$LXQ_PID
    exec {QIN}>&"${LXQ[1]}" {QOUT}<&"${LXQ[0]}"
    local end=$((SECONDS + ${LX_BOOT_SECS:-120}))
    while [ $SECONDS -lt $end ]; do
        IFS= read -r -t $((end - SECONDS)) line <&"$QOUT" || break
        line=${line%$'\r'}
        echo "$line" >>"$CONSOLE"
        case $line in
        "@@READY "*) return 0 ;;
        esac
    done
    return 1
}

# g SECS COMMAND: COMMAND runs under `sh -c` in the guest (through a busybox
# `timeout`, so a hung tool cannot stall the console); its output (stdout
# and stderr) lands in $GOUT, its exit status in $GRC.
g() {
    local secs=$1 cmd=$2 line id end state=wait t=$EPOCHREALTIME
    GSEQ=$((GSEQ + 1))
    id=$GSEQ
    : >"$GOUT"
    GRC=124
    echo "### [$id] $cmd" >>"$CONSOLE"
    printf '%s\t%s\n' "$id" "timeout $secs sh -c '${cmd//\'/\'\\\'\'}'" >&"$QIN"
    end=$((SECONDS + secs + 15))
    while [ $SECONDS -lt $end ]; do
        IFS= read -r -t $((end - SECONDS)) line <&"$QOUT" || break
        line=${line%$'\r'}
        echo "$line" >>"$CONSOLE"
        case $state:$line in
        "wait:@@BEGIN $id") state=out ;;
        "out:@@END $id "*)
            GRC=${line##* }
            [ "$GRC" = 143 ] && GRC=124
            echo "### [$id] exit $GRC, $(awk -v a="$t" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s" >>"$CONSOLE"
            return 0
            ;;
        out:*) echo "$line" >>"$GOUT" ;;
        esac
    done
    echo "(no answer from the guest within $((secs + 15)) s)" >>"$GOUT"
    return 0
}

# gshow: the last guest answer, indented, for failure messages.
gshow() { sed 's/^/   > /' "$GOUT" | tail -"${1:-12}"; }

# gcheck CASE SECS COMMAND REGEX...: passes when COMMAND exits 0 and its
# output matches every extended REGEX.
gcheck() {
    local case=$1 secs=$2 cmd=$3 re miss=""
    shift 3
    g "$secs" "$cmd"
    for re in "$@"; do grep -qE -- "$re" "$GOUT" || miss+=" '$re'"; done
    if [ "$GRC" = 0 ] && [ -z "$miss" ]; then
        pass "$case"
    else
        fail "$case" "expected \`$cmd\` to exit 0 with output matching$miss; exit $GRC"$'\n'"$(gshow)"
    fi
}

# attach SLOT: the guest imports the board behind SLOT; prints nothing,
# sets LOCAL_BUSID.
attach() {
    g 30 "att ${LX_IP[$1]} 25"
    LOCAL_BUSID=$(tail -1 "$GOUT")
    [ "$GRC" = 0 ]
}

