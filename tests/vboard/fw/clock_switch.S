@ clock_switch.S - virtual time across SYSCLK switches made by the CPU in the
@ middle of a run of code: each cycle counts at the clock it ran on.
@ SYSCLK goes HSI 8 MHz -> PLL (HSI / 2 x 16 = 64 MHz, RM0008 7.2.3 and
@ 7.3.2) -> HSI, each switch a store to RCC_CFGR.SW (7.3.2). In between a
@ SUBS/BNE loop held in one 64-bit flash block runs 3 cycles an iteration
@ (LATENCY 2 + prefetch, timing.S):
@   PA3 high: N64 = 64000 iterations on the PLL = 192000 cycles / 64 MHz = 3 ms
@   PA4 high: N8 = 8000 iterations on the HSI = 24000 cycles / 8 MHz = 3 ms
@ then PA1=1.
#include "common.inc"
    .equ N64, 64000
    .equ N8, 8000
    .section .text
    .word 0x20005000
    .word reset + 1
    .word fail + 1
    .word fail + 1

reset:
    gpioa_init
    ldr r5, =GPIOA
    ldr r6, =RCC
    ldr r1, =FLASH
    mov r2, #0x12           @ PRFTBE, LATENCY 2: before SYSCLK rises (3.3.3)
    str r2, [r1]
    ldr r2, =(14 << 18) | (4 << 8)  @ PLLMUL x16, PLLSRC HSI / 2, APB1 / 2
    str r2, [r6, #4]
    ldr r1, [r6]
    orr r1, r1, #(1 << 24)  @ PLLON
    str r1, [r6]
1:  ldr r1, [r6]
    tst r1, #(1 << 25)      @ PLLRDY
    beq 1b
    orr r2, r2, #2          @ SW = PLL
    str r2, [r6, #4]
1:  ldr r1, [r6, #4]
    and r1, r1, #0xC
    cmp r1, #0x8            @ SWS = PLL
    bne 1b

    mov r1, #(1 << 3)
    str r1, [r5, #0x10]     @ PA3 = 1
    ldr r0, =N64
    bl loop
    bic r2, r2, #3          @ SW = HSI
    str r2, [r6, #4]
1:  ldr r1, [r6, #4]
    tst r1, #0xC            @ SWS = HSI
    bne 1b
    mov r1, #(1 << 3)
    str r1, [r5, #0x14]     @ PA3 = 0
    mov r1, #(1 << 4)
    str r1, [r5, #0x10]     @ PA4 = 1
    ldr r0, =N8
    bl loop
    mov r1, #(1 << 4)
    str r1, [r5, #0x14]     @ PA4 = 0
    pa_set 1
2:  b 2b

fail:
    pa_set 2
    b fail
    .pool

    .balign 8
loop:
    subs r0, #1
    bne loop
    bx lr
