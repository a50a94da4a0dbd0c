#!/usr/bin/env bash
# e2e_app.sh - blinky behind the real bootloader on the virtual board: the
# stamp tool and the bootloader agree on the stamp, blinky sets VTOR and
# blinks from SysTick, and the kit's reboot request puts the board in DFU.
#
# Usage: e2e_app.sh VBOARD FW.bin:APP_DIR:BOARD:PART[:reboot]...
#   APP_DIR as app/app.mk names it (build/app/<board>[-appNNNNNNNN]); with
#   ":reboot" its -reboot sibling is tested too.
# No USB host and no wall-clock pacing: each run is a fixed slice of
# virtual time (--exit-after), so the results are deterministic.
set -u
VBOARD=$1
shift
WORK=$(mktemp -d "${TMPDIR:-/tmp}/e2e_app.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
npass=0
nfail=0
pass() { echo "ok   $1"; npass=$((npass + 1)); }
fail() { echo "FAIL $1: $2"; nfail=$((nfail + 1)); }

# image OUT FW APP OFFSET: bootloader, 0xFF up to OFFSET, then the
# application. A bootloader that reaches into OFFSET fails (head -c with a
# negative count would write without end).
image() {
    local out=$1 fw=$2 app=$3 off=$4 size
    size=$(stat -c %s "$fw") || return 1
    if [ "$size" -gt "$off" ]; then
        echo "image: $fw is $size bytes, more than the application offset $off" >&2
        return 1
    fi
    { cat "$fw"; head -c $((off - size)) /dev/zero | tr '\0' '\377'; cat "$app"; } >"$out"
}

# run NAME SECONDS PART BOARD BASE IMAGE: the event log in $WORK/NAME.log.
# A board whose entry is the double reset (maple_mini) boots $win later.
run() {
    local name=$1 secs part=$3 board=$4 base=$5 img=$6
    secs=$(awk "BEGIN { print $2 + $win }")
    timeout 60 "$VBOARD" --port 0 --fast --part "$part" --board "$board" --app-base "$base" \
        --flash "$WORK/$name.flash" --exit-after "$secs" "$img" >"$WORK/$name.log" 2>&1
}

# The LED pin of a board, e.g. PC13, from its header.
led_of() {
    local h=fw/boards/$1.h port pin
    port=$(sed -n "s/^#define BOARD_LED_PORT '\(.\)'.*/\1/p" "$h")
    pin=$(sed -n 's/^#define BOARD_LED_PIN \([0-9]*\).*/\1/p' "$h")
    echo "P$port$pin"
}

# Toggle times must be 0.25 s apart (SysTick on the 8 MHz HSI).
check_period() {
    awk -v led="$2" '$0 ~ "gpio " led "=" { sub(/^\[ */, ""); t[n++] = $1 + 0 }
        END { if (n < 5) exit 1; for (i = 2; i < n; i++) { d = t[i] - t[i-1];
              if (d < 0.249 || d > 0.251) exit 1 } }' "$1"
}

for spec in "$@"; do
    IFS=: read -r fw dir board part reboot <<<"$spec"
    name=$(basename "$dir")
    base=0x08002000
    case $name in *-app*) base=0x${name##*-app} ;; esac
    off=$((base - 0x08000000))
    led=$(led_of "$board")
    win=0
    grep -q "^#define BOARD_ENTRY_DOUBLE_RESET 1" "fw/boards/$board.h" && win=0.5
    app_start="app start 0x$(printf %08x $((base)) | cut -c1-6)"

    # 1. The stamped image starts behind the bootloader and blinks.
    image "$WORK/$name.img" "$fw" "$dir/blinky.stamped.bin" $off
    run "$name" 1.6 "$part" "$board" $base "$WORK/$name.img"
    log=$WORK/$name.log
    if grep -q "$app_start" "$log" && check_period "$log" "$led"; then
        pass "$name: stamped blinky starts at $base and toggles $led every 250 ms"
    else
        fail "$name: stamped blinky" "no start at $base or no 250 ms toggling of $led; log:
$(tail -8 "$log")"
    fi

    # 2. The same image with one byte changed after stamping: the CRC no
    #    longer matches, so the bootloader must stay in DFU mode.
    # (byte 100, in Reset_Handler's code, with its lowest bit inverted)
    cp "$dir/blinky.stamped.bin" "$WORK/bad.bin"
    byte=$(od -An -tu1 -j100 -N1 "$WORK/bad.bin" | tr -d ' ')
    printf "\\$(printf %03o $((byte ^ 1)))" |
        dd of="$WORK/bad.bin" bs=1 seek=100 conv=notrunc status=none
    cmp -s "$dir/blinky.stamped.bin" "$WORK/bad.bin" && fail "$name: corrupting" "no change"
    image "$WORK/$name-bad.img" "$fw" "$WORK/bad.bin" $off
    run "$name-bad" 0.6 "$part" "$board" $base "$WORK/$name-bad.img"
    log=$WORK/$name-bad.log
    if ! grep -q "app start" "$log" && grep -q "usb enumerated.*0483:df11" "$log"; then
        pass "$name: image changed after stamping is not started (DFU mode)"
    else
        fail "$name: corrupted stamp" "expected DFU mode and no app start; log:
$(tail -8 "$log")"
    fi

    # 3. Unstamped (as flashed from an IDE): plausible, so it starts.
    image "$WORK/$name-raw.img" "$fw" "$dir/blinky.bin" $off
    run "$name-raw" 0.3 "$part" "$board" $base "$WORK/$name-raw.img"
    if grep -q "$app_start" "$WORK/$name-raw.log"; then
        pass "$name: unstamped blinky starts"
    else
        fail "$name: unstamped blinky" "no app start; log:
$(tail -8 "$WORK/$name-raw.log")"
    fi

    # 4. The reboot variant asks for the bootloader after 4 toggles (1 s):
    #    one app start, one SYSRESETREQ, then DFU mode, no second start.
    [ "$reboot" = reboot ] || continue
    image "$WORK/$name-rb.img" "$fw" "$dir-reboot/blinky.stamped.bin" $off
    run "$name-rb" 2.5 "$part" "$board" $base "$WORK/$name-rb.img"
    log=$WORK/$name-rb.log
    after=$(sed -n '/reset (SYSRESETREQ)/,$p' "$log")
    t_app=$(grep -m1 "app start" "$log" | sed -E 's/^\[ *([0-9.]+)\].*/\1/')
    t_rst=$(grep -m1 "reset (SYSRESETREQ)" "$log" | sed -E 's/^\[ *([0-9.]+)\].*/\1/')
    if [ "$(grep -c "app start" "$log")" -eq 1 ] && [ -n "$t_rst" ] &&
        awk "BEGIN { d = $t_rst - $t_app; exit !(d >= 1.0 && d < 1.1) }" &&
        grep -q "usb enumerated.*0483:df11" <<<"$after"; then
        pass "$name-reboot: dfuboot_reboot_to_bootloader() after 1 s enters DFU mode"
    else
        fail "$name-reboot" "expected app start, SYSRESETREQ 1 s later, then DFU mode; log:
$(grep -v gpio "$log" | tail -10)"
    fi
done

echo "$npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
