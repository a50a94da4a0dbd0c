#!/usr/bin/env bash
# integration.sh VBOARD FWDIR - runs small Thumb programs (tests/vboard/fw)
# in the real board (CPU + models) and checks the events they cause.
# Each program reports through GPIO: PA1=1 pass, PA2=1 fail.
set -u
VB=$1; FW=$2
pass=0; fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

ok()  { pass=$((pass + 1)); [ -n "${TEST_VERBOSE:-}" ] && echo "ok   $1"; return 0; }
bad() { fail=$((fail + 1)); echo "FAIL $1: $2"; sed 's/^/   | /' "$tmp/out" | tail -12; }
run() { timeout 20 "$VB" --fast --port 0 "$@" >"$tmp/out" 2>&1; echo $? >"$tmp/rc"; }
has() { grep -qE "$1" "$tmp/out"; }

# PM0056 2.3.7: SysTick exception entry/return, registers preserved, 1 ms ticks.
run --exit-after 0.3 "$FW/systick.elf"
if has '\] gpio PA1=1' && ! has 'PA2=1' && has '^\[   0\.05000[0-9]\] gpio PA3=1'; then ok systick_exception_entry_return
else bad systick_exception_entry_return "want PA3=1 at 50 ms and PA1=1"; fi

# RM0008 6.1 + 7.1.2: SYSRESETREQ is a system reset; BKP keeps DR1; SFTRSTF set.
run --exit-after 0.1 "$FW/reset_bkp.elf"
if has 'reset \(SYSRESETREQ\)' && has 'gpio PA1=1' && ! has 'PA2=1'; then ok sysresetreq_keeps_bkp
else bad sysresetreq_keeps_bkp "want reset (SYSRESETREQ) then PA1=1"; fi

# RM0008 3.3.3 / PM0075 2.3: programming through the FPEC from SRAM; busy times
# 3 x 52.5 us + 20 ms page erase before the pass.
run --exit-after 0.1 "$FW/flash_sram.elf"
t=$(grep 'gpio PA1=1' "$tmp/out" | sed -E 's/^\[ *([0-9.]+)\].*/\1/')
if [ -n "$t" ] && ! has 'PA2=1' && awk "BEGIN{exit !($t >= 0.0201 && $t < 0.0210)}"; then ok flash_program_from_sram
else bad flash_program_from_sram "want PA1=1 after ~20.16 ms (got '${t:-none}')"; fi

# --flash-time max: DS5319 "Flash memory characteristics" maxima, tPROG 70 us
# and tERASE 40 ms: 3 x 70 us + 40 ms = 40.21 ms before the pass.
run --flash-time max --exit-after 0.1 "$FW/flash_sram.elf"
t=$(grep 'gpio PA1=1' "$tmp/out" | sed -E 's/^\[ *([0-9.]+)\].*/\1/')
if [ -n "$t" ] && ! has 'PA2=1' && awk "BEGIN{exit !($t >= 0.0402 && $t < 0.0410)}"; then ok flash_time_max_datasheet_maxima
else bad flash_time_max_datasheet_maxima "want PA1=1 after ~40.21 ms (got '${t:-none}')"; fi

# RM0008 19.3: IWDG not reloaded -> reset after (RLR+1)*4/40 kHz = 10 ms, IWDGRSTF.
run --exit-after 0.1 "$FW/iwdg.elf"
if has '^\[   0\.0100[0-9]+\] reset \(IWDG\)' && has 'gpio PA1=1' && ! has 'PA2=1'; then ok iwdg_reset
else bad iwdg_reset "want reset (IWDG) at 10 ms then PA1=1"; fi

# RM0008 9.1.11 table "USB": PA12 driven low while the USB clock is on does
# not disconnect (the pin is the transceiver's); with the clock off it does.
run --exit-after 1 "$FW/usb_pins.elf"
seq=$(grep -E 'usb (dis)?connect|gpio PA[134]=1' "$tmp/out" | sed -E 's/^\[[^]]*\] //' | tr '\n' ' ')
if [ "$seq" = "usb connect gpio PA3=1 gpio PA4=1 usb disconnect gpio PA1=1 " ]; then ok usb_owns_pa12_while_enabled
else bad usb_owns_pa12_while_enabled "want usb connect, PA3=1, PA4=1, usb disconnect, PA1=1; got: $seq"; fi

# PM0056 2.4: undefined instruction -> HardFault, stacked PC = faulting instruction.
run --exit-after 0.05 "$FW/fault.elf"
if has 'HardFault: undefined instruction' && has 'gpio PA1=1' && ! has 'PA2=1'; then ok hardfault_undefined_instruction
else bad hardfault_undefined_instruction "want a HardFault event and PA1=1"; fi

# Issue 7 item 7: a vector without the Thumb bit is an INVSTATE UsageFault,
# escalated to HardFault (FORCED) when UsageFault is not enabled.
run --exit-after 0.01 "$FW/invstate.elf"
if has 'HardFault: vector lacks the Thumb bit.*escalated from UsageFault \(not enabled in SHCSR\)' &&
    has 'gpio PA1=1' && ! has 'PA2=1'; then ok invstate_vector_escalates_to_hardfault
else bad invstate_vector_escalates_to_hardfault "want INVSTATE escalated to HardFault, stacked PC = vector, PA1=1"; fi

# A reset vector without the Thumb bit: INVSTATE -> HardFault at reset.
run --exit-after 0.01 "$FW/resetvec.elf"
if has 'HardFault: reset vector lacks the Thumb bit' && has 'gpio PA1=1' && ! has 'PA2=1'
then ok reset_vector_without_thumb_bit_hardfaults
else bad reset_vector_without_thumb_bit_hardfaults "want INVSTATE escalated to HardFault at reset, PA1=1"; fi

# SHCSR.USGFAULTENA/BUSFAULTENA: the UsageFault and BusFault handlers run.
run --exit-after 0.01 "$FW/faultena.elf"
if has 'UsageFault: undefined instruction' && has 'BusFault: access to unmapped' && has 'gpio PA3=1' &&
    has 'gpio PA1=1' && ! has 'PA2=1'; then ok enabled_usagefault_and_busfault_handlers
else bad enabled_usagefault_and_busfault_handlers "want UsageFault then BusFault handlers, PA1=1"; fi

# A fault in the HardFault handler: lockup, reported as such; nothing runs after.
run --exit-after 0.01 "$FW/lockup.elf"
if has 'LOCKUP: fault in the HardFault handler' && has 'gpio PA3=1' && ! has 'PA2=1'; then ok fault_in_hardfault_is_lockup
else bad fault_in_hardfault_is_lockup "want PA3=1 then 'LOCKUP: fault in the HardFault handler', no PA2"; fi

# PM0056 4.4.11: load from an unmapped address -> HardFault, PRECISERR, BFAR;
# reported as a violation.
run --exit-after 0.01 "$FW/busfault.elf"
if has 'VIOLATION bus \(unmapped address\)' && has 'HardFault: access to unmapped' && has 'gpio PA1=1' && ! has 'PA2=1'
then ok busfault_unmapped_load
else bad busfault_unmapped_load "want VIOLATION, HardFault, PA1=1"; fi

# PM0056 2.3.6: priorities, PendSV after SVC returns (tail-chain), PRIMASK.
run --exit-after 0.05 "$FW/pendsv.elf"
if has 'gpio PA1=1' && ! has 'PA2=1'; then ok priorities_pendsv_primask
else bad priorities_pendsv_primask "want PA1=1"; fi

# RM0008 3.1: an 8/16-bit store to an APB register becomes a 32-bit store of
# the duplicated data (a half-word "reset" via BSRR+2 sets the pin instead).
run --exit-after 0.01 "$FW/apb_width.elf"
if has 'gpio PA1=1' && ! has 'PA2=1'; then ok apb_bridge_duplicates_narrow_writes
else bad apb_bridge_duplicates_narrow_writes "want PA4 kept at 1 by strh to BSRR+2, ODR 0x0101 after strb to ODR+1, PA1=1"; fi

# RM0008 23.5: a byte store to the USB packet memory is reported (the bridge
# would write the byte to both halves of the 16-bit word).
run --exit-after 0.01 "$FW/usb_byte.elf"
if has 'VIOLATION usb \(RM0008 23.5\): byte store to 0x40006000' && has 'gpio PA1=1'; then ok usb_byte_store_reported
else bad usb_byte_store_reported "want a VIOLATION usb (RM0008 23.5) for strb to 0x40006000"; fi

# Instruction timing (README "Instruction timing"): cycles per iteration of a
# two-block loop, from the Cortex-M3 TRM 3.3 table 3-1 (1 cycle per NOP/SUBS, taken branch 1 + P,
# P >= 1) and RM0008 3.3.3 (LATENCY wait states per 64-bit read, prefetch):
# flash LATENCY 0: 7, SRAM: 7, flash LATENCY 2 + prefetch: 9, no prefetch: 11;
# a SUBS/BNE loop held in one 64-bit block at LATENCY 2 + prefetch: 3.
run --exit-after 0.05 "$FW/timing.elf"
cyc() { # cycles per iteration while PA$1 was high (8 MHz, 2000 iterations)
    awk -v p="PA$1" '$0 ~ "gpio " p "=1" { a = substr($2, 1, length($2) - 1) }
        $0 ~ "gpio " p "=0" && a != "" { b = substr($2, 1, length($2) - 1) }
        END { if (a == "" || b == "") print "none"; else printf "%.2f", (b - a) * 8e6 / 2000 }' "$tmp/out"
}
got="$(cyc 3) $(cyc 4) $(cyc 5) $(cyc 6) $(cyc 7) $(cyc 0)"
near() { awk -v g="$1" -v w="$2" 'BEGIN { exit !(g != "none" && g - w < 0.05 && w - g < 0.05) }'; }
read -r c3 c4 c5 c6 c7 c0 <<<"$got"
if has 'gpio PA1=1' && near "$c3" 7 && near "$c4" 7 && near "$c5" 9 && near "$c6" 11 && near "$c7" 7 && near "$c0" 3
then ok "flash_wait_states_and_prefetch_timing ($got cycles/iteration)"
else bad flash_wait_states_and_prefetch_timing "want 7 7 9 11 7 3 cycles/iteration, got $got"; fi

# Virtual time across SYSCLK switches the CPU makes mid-slice: 192000 cycles
# on the 64 MHz PLL (3 ms), then 24000 on the 8 MHz HSI (3 ms); each cycle
# counts at the clock it ran on (clock_switch.S).
run --exit-after 0.05 "$FW/clock_switch.elf"
span() { # ms while PA$1 was high
    awk -v p="PA$1" '$0 ~ "gpio " p "=1" { a = substr($2, 1, length($2) - 1) }
        $0 ~ "gpio " p "=0" && a != "" { b = substr($2, 1, length($2) - 1) }
        END { if (a == "" || b == "") print "none"; else printf "%.4f", (b - a) * 1000 }' "$tmp/out"
}
got="$(span 3) $(span 4)"
read -r s3 s4 <<<"$got"
within() { awk -v g="$1" 'BEGIN { exit !(g != "none" && g >= 2.999 && g <= 3.005) }'; }
if has 'gpio PA1=1' && ! has 'PA2=1' && within "$s3" && within "$s4"
then ok "time_follows_sysclk_switches ($got ms)"
else bad time_follows_sysclk_switches "want 3 ms on the PLL and 3 ms on the HSI, got $got ms"; fi

# Unmodelled access: reported; --strict stops with exit status 3.
run --exit-after 0.05 "$FW/strict.elf"
if has 'VIOLATION bus' && has 'gpio PA1=1' && [ "$(cat "$tmp/rc")" = 0 ]; then ok unmodelled_access_reported
else bad unmodelled_access_reported "want a VIOLATION line, PA1=1, exit 0"; fi
run --strict --exit-after 0.05 "$FW/strict.elf"
if has 'VIOLATION bus' && ! has 'gpio PA1=1' && [ "$(cat "$tmp/rc")" = 3 ]; then ok strict_stops_with_status_3
else bad strict_stops_with_status_3 "want exit 3 before PA1=1 (rc $(cat "$tmp/rc"))"; fi

# Issue 7 item 11: the same violation 100 times is printed once, with the
# count at exit; under --strict one line and the stop.
run --exit-after 0.01 "$FW/repeat.elf"
n=$(grep -c 'VIOLATION gpio' "$tmp/out")
if [ "$n" = 1 ] && has 'violations: 100 in all, 99 repeats of the 1 above not printed' && has 'gpio PA1=1'
then ok violation_printed_once_with_count
else bad violation_printed_once_with_count "want 1 VIOLATION line (got $n) and '100 in all, 99 repeats'"; fi
run --strict --exit-after 0.01 "$FW/repeat.elf"
n=$(grep -c 'VIOLATION' "$tmp/out")
if [ "$n" = 1 ] && [ "$(cat "$tmp/rc")" = 3 ]; then ok strict_prints_violation_once
else bad strict_prints_violation_once "want 1 VIOLATION line (got $n), exit 3"; fi

# RM0008 19.3.2: option byte WDG_SW = 0 (--hw-iwdg) runs the IWDG from reset:
# a program that never reloads it is reset after 409.6 ms (PR 0, RLR 0xFFF).
run --hw-iwdg --exit-after 0.5 "$FW/systick.elf"
if has '^\[   0\.409[0-9]+\] reset \(IWDG\)'; then ok hardware_iwdg_from_reset
else bad hardware_iwdg_from_reset "want reset (IWDG) at 0.4096 s"; fi

# --app-base: the first instruction at/above it after reset is an event.
run --app-base 0x08000010 --exit-after 0.01 "$FW/systick.elf"
if has 'app start 0x080000'; then ok app_start_event
else bad app_start_event "want app start 0x080000xx"; fi

# --flash: file = flash + 16 option bytes, firmware at 0; reused as is.
rm -f "$tmp/flash.img"
run --flash "$tmp/flash.img" --exit-after 0.01 "$FW/systick.elf"
size=$(stat -c %s "$tmp/flash.img" 2>/dev/null || echo 0)
if [ "$size" = $((65536 + 16)) ] && [ "$(od -An -tx1 -j $((65536)) -N2 "$tmp/flash.img" | tr -d ' ')" = a55a ]; then ok flash_file_created
else bad flash_file_created "want 65552 bytes with RDP A5 5A (got $size)"; fi
run --flash "$tmp/flash.img" --exit-after 0.3
if has 'gpio PA1=1'; then ok flash_file_reused_without_firmware
else bad flash_file_reused_without_firmware "want the program to run from the file"; fi

# Pacing: 0.3 s of virtual time take >= 0.3 s of wall time without --fast.
start=$(date +%s%N)
timeout 20 "$VB" --port 0 --exit-after 0.3 "$FW/systick.elf" >"$tmp/out" 2>&1
ms=$(( ($(date +%s%N) - start) / 1000000 ))
if [ "$ms" -ge 290 ] && [ "$ms" -lt 2000 ]; then ok pacing_follows_wall_clock
else bad pacing_follows_wall_clock "0.3 s virtual took $ms ms"; fi

# SIGUSR1 = reset button (PINRSTF); SIGTERM ends cleanly with status 0.
"$VB" --port 0 --exit-after 10 "$FW/systick.elf" >"$tmp/out" 2>&1 &
pid=$!
sleep 0.3; kill -USR1 $pid; sleep 0.3; kill -TERM $pid; wait $pid; rc=$?
if has 'reset \(reset button\)' && has 'stopping on signal' && [ $rc = 0 ]; then ok signals_reset_and_term
else bad signals_reset_and_term "rc $rc"; fi

echo "integration: $pass passed, $fail failed"
[ $fail = 0 ]
