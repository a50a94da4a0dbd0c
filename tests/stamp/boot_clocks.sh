#!/usr/bin/env bash
# boot_clocks.sh - the clock registers at the application's first
# instruction (issue 10 item 4): the bootloader raises SYSCLK to check a
# stamp and must hand over every clock register at its reset value.
# The application (regdump.S) reads RCC_*, FLASH_ACR and SYST_CSR before
# it writes anything; vboard --trace mmio shows the values read. Each run
# is --strict: a clock setting the RCC or FLASH model rejects (APB1 above
# 36 MHz, too few wait states, PLL reconfigured while on) stops it.
#
# Usage: boot_clocks.sh VBOARD BUILD_FW_DIR   (e.g. build/host/vboard build/fw)
set -u
cd "$(dirname "$0")/../.."
VB=$1
FWDIR=$2
STAMP=${STAMP:-build/host/dfuboot-stamp}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/boot_clocks.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1: $2"; }

# Reset values, RM0008 rev 21 (section: "Reset value: ..."), and PM0056.
#  7.3.1  RCC_CR       "Reset value: 0x000X XX83 where X is undefined":
#         HSION, HSIRDY, HSITRIM = 16 ("The default value is 16"); bits
#         15:8 are HSICAL, "initialized automatically at startup" (factory
#         calibration, not compared). Bits 19:16 (HSEON, HSERDY, HSEBYP,
#         CSSON) are the other X: the stricter reading, all off, is taken.
#  7.3.2  RCC_CFGR     "Reset value: 0x0000 0000"
#  7.3.3  RCC_CIR      "Reset value: 0x0000 0000"
#  7.3.4  RCC_APB2RSTR "Reset value: 0x00000 0000"
#  7.3.5  RCC_APB1RSTR "Reset value: 0x0000 0000"
#  7.3.6  RCC_AHBENR   "Reset value: 0x0000 0014" (SRAMEN, FLITFEN)
#  7.3.7  RCC_APB2ENR  "Reset value: 0x0000 0000"
#  7.3.8  RCC_APB1ENR  "Reset value: 0x0000 0000"
#  7.3.9  RCC_BDCR     "Reset value: 0x0000 0000, reset by Backup domain Reset"
#  7.3.10 RCC_CSR      "Reset value: 0x0C00 0000, reset by system Reset, except
#         reset flags by power Reset only": after power-on PORRSTF, PINRSTF.
#  3.3.3  FLASH_ACR    "Reset value: 0x0000 0030" (PRFTBS, PRFTBE, LATENCY 0)
#  PM0056 4.5.1 SYST_CSR "Reset value 0x00000000"
# name address mask expected
REGS="RCC_CR 0x40021000 0xffff00ff 0x00000083
RCC_CFGR 0x40021004 0xffffffff 0x00000000
RCC_CIR 0x40021008 0xffffffff 0x00000000
RCC_APB2RSTR 0x4002100c 0xffffffff 0x00000000
RCC_APB1RSTR 0x40021010 0xffffffff 0x00000000
RCC_AHBENR 0x40021014 0xffffffff 0x00000014
RCC_APB2ENR 0x40021018 0xffffffff 0x00000000
RCC_APB1ENR 0x4002101c 0xffffffff 0x00000000
RCC_BDCR 0x40021020 0xffffffff 0x00000000
RCC_CSR 0x40021024 0xffffffff 0x0c000000
FLASH_ACR 0x40022000 0xffffffff 0x00000030
SYST_CSR 0xe000e010 0xffffffff 0x00000000"

# regdump.S at the application base, raw (as linked) and stamped;
# FILL pads it to that many bytes before stamping (a big image: a long CRC).
app() { # OUT BASE [FILL]
    local out=$1 base=$2 fill=${3:-0}
    arm-none-eabi-gcc -mcpu=cortex-m3 -mthumb -nostdlib -nostartfiles -Wl,-Ttext="$base" \
        -Wl,-e,"$base" tests/stamp/regdump.S -o "$out.elf" &&
        arm-none-eabi-objcopy -O binary "$out.elf" "$out.raw" || return 1
    cp "$out.raw" "$out"
    if [ "$fill" -gt 0 ]; then
        LC_ALL=C awk -v n=$((fill - $(stat -c %s "$out"))) \
            'BEGIN { srand(10); for (i = 0; i < n; i++) printf "%c", int(rand() * 255) }' >>"$out"
    fi
    "$STAMP" --base "$base" -o "$out.stamped" "$out" >/dev/null
}

# check NAME FW PART IMAGE SECONDS [vboard args]: the bootloader and IMAGE
# at 0x08002000 in a fresh flash file; the dump after "app start".
check() {
    local name=$1 fw=$2 part=$3 img=$4 secs=$5 flash=$WORK/flash.bin log=$WORK/$1.log
    shift 5
    rm -f "$flash"
    if ! timeout 20 "$VB" --port 0 --fast --part "$part" --flash "$flash" --exit-after 0.001 "$fw" >/dev/null 2>&1 ||
        ! dd if="$img" of="$flash" bs=1024 seek=8 conv=notrunc status=none; then
        bad "$name" "cannot prepare the flash file"
        return
    fi
    timeout 30 "$VB" --port 0 --fast --strict --quiet-gpio --trace mmio --part "$part" --flash "$flash" \
        --exit-after "$secs" "$@" >"$log" 2>&1
    local rc=$?
    if ! grep -q "app start 0x08002" "$log"; then
        bad "$name" "no app start (exit $rc); log: $(grep -v 'mmio:' "$log" | tail -4 | tr '\n' '|')"
        return
    fi
    # The first read of each address after "app start": "ADDR VALUE" lines.
    local dump diffs="" reg addr mask want v
    dump=$(awk '/app start/ { s = 1; next }
        s && /mmio: .* rd32 / { a = $(NF - 2); if (!(a in seen)) { seen[a] = 1; print a, $NF } }' "$log")
    while read -r reg addr mask want; do
        v=$(awk -v a="$addr" '$1 == a { print $2 }' <<<"$dump")
        if [ -z "$v" ]; then
            diffs+="$reg not read; "
        elif (((v & mask) != want)); then
            diffs+="$(printf '%s = %s, reset value 0x%08x (mask 0x%08x); ' "$reg" "$v" "$want" "$mask")"
        fi
    done <<<"$REGS"
    if [ $rc -ne 0 ]; then
        bad "$name" "vboard exit $rc: $(grep -m2 VIOLATION "$log" | tr '\n' '|')"
    elif [ -n "$diffs" ]; then
        bad "$name" "not at reset: $diffs"
    else
        ok "$name: RCC_CR..RCC_CSR, FLASH_ACR, SYST_CSR at reset values at $(grep -m1 -o 'app start.*' "$log") ($(grep -m1 'app start' "$log" | sed -E 's/^\[ *([0-9.]+)\].*/\1/') s after power-on)"
    fi
}

app "$WORK/regdump.bin" 0x08002000 || { echo "FAIL cannot assemble regdump.S"; echo "0 passed, 1 failed"; exit 1; }
app "$WORK/regdump64k.bin" 0x08002000 65536 || { echo "FAIL cannot build the 64 KiB image"; exit 1; }

BP=$FWDIR/bluepill/dfuboot.bin
check unstamped "$BP" f103c8 "$WORK/regdump.bin" 0.01
check stamped "$BP" f103c8 "$WORK/regdump.bin.stamped" 0.01
# 64 KiB of application does not fit behind the bootloader on a 64 KiB
# f103c8: a C8 with 128 KiB (f103c8-128k), as many blue pills are.
check stamped-64k "$BP" f103c8-128k "$WORK/regdump64k.bin.stamped" 0.05
# The double-reset window runs its 500 ms on SysTick and the PWR/BKP clocks.
check doublereset-stamped "$FWDIR/bluepill-doublereset1/dfuboot.bin" f103c8 "$WORK/regdump.bin.stamped" 0.7
# A stamp that does not match: DFU mode, which must not start the application.
cp "$WORK/regdump.bin.stamped" "$WORK/bad.bin"
printf '\x01' | dd of="$WORK/bad.bin" bs=1 seek=$(($(stat -c %s "$WORK/bad.bin") - 1)) conv=notrunc status=none
rm -f "$WORK/flash.bin"
timeout 20 "$VB" --port 0 --fast --part f103c8 --flash "$WORK/flash.bin" --exit-after 0.001 "$BP" >/dev/null 2>&1
dd if="$WORK/bad.bin" of="$WORK/flash.bin" bs=1024 seek=8 conv=notrunc status=none
if timeout 20 "$VB" --port 0 --fast --strict --part f103c8 --flash "$WORK/flash.bin" --exit-after 0.6 >"$WORK/bad.log" 2>&1 &&
    ! grep -q "app start" "$WORK/bad.log" && grep -q "usb enumerated" "$WORK/bad.log"; then
    ok "bad-stamp: after the check at 64 MHz the DFU path starts the 72 MHz clock and enumerates (--strict)"
else
    bad bad-stamp "want DFU mode, no app start, no violation; log: $(tail -4 "$WORK/bad.log" | tr '\n' '|')"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
