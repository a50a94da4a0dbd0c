#!/usr/bin/env bash
# hse_check.sh - the build-time check of BOARD_HSE_HZ in
# fw/port/stm32f1/clock.c (issue 8 item 7): a crystal that cannot give
# SYSCLK = 72 MHz and USB = 48 MHz exactly (PLL x2..x16 of HSE or HSE/2,
# RM0008 7.3.2; crystal 4..16 MHz, DS5319) must stop the build with an error.
set -u
cd "$(dirname "$0")/../.."
pass=0; fail=0
build() { # HZ: compiles clock.c for a board with that crystal
    arm-none-eabi-gcc -std=c11 -mcpu=cortex-m3 -mthumb -fsyntax-only -Ifw/port/stm32f1 -Ifw/core -Icommon \
        -DBOARD_HSE_HZ="${1}u" -DBOARD_LED_PORT="'C'" -DBOARD_LED_PIN=13 -DBOARD_LED_ACTIVE_LOW=1 \
        fw/port/stm32f1/clock.c 2>&1
}
for hz in 8000000 12000000 16000000; do # x9, x6, /2 x9
    if out=$(build $hz); then pass=$((pass + 1)); echo "ok   HSE $hz Hz builds"
    else fail=$((fail + 1)); echo "FAIL HSE $hz Hz must build: $out"; fi
done
for hz in 10000000 25000000 4000000 14745600; do # 72/10, >16 MHz, 4 MHz needs x18, UART crystal
    if out=$(build $hz); then fail=$((fail + 1)); echo "FAIL HSE $hz Hz must be rejected at build time"
    elif grep -q "BOARD_HSE_HZ" <<<"$out"; then pass=$((pass + 1)); echo "ok   HSE $hz Hz rejected: $(grep -m1 -o 'error: .*' <<<"$out")"
    else fail=$((fail + 1)); echo "FAIL HSE $hz Hz fails for another reason: $out"; fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
