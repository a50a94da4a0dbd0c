@ timing.S - instruction timing with flash wait states and the prefetch
@ buffer (README "Instruction timing"). A loop of 4 NOPs, SUBS and a taken
@ BNE spans two 64-bit flash blocks (aligned on 8 bytes). Expected cycles
@ per iteration, from the manuals:
@   Cortex-M3 TRM (ARM DDI 0337) 3.3 table 3-1: NOP and SUBS 1 cycle each, B taken "1 + P" with P >= 1:
@     6 instructions + 1 refill = 7 cycles from SRAM or zero-wait flash.
@   RM0008 3.3.3: LATENCY = wait states per 64-bit flash read.
@     LATENCY 2, prefetch on: the branch target read waits 2, the second
@     block was prefetched during the 4 NOPs (4 >= 1 + 2): 9 cycles.
@     LATENCY 2, prefetch off: both blocks wait 2: 11 cycles.
@ A loop of SUBS + BNE inside one 64-bit block (loop1): the block stays
@ held in the prefetch buffer, so at LATENCY 2 + prefetch it runs 1 + 1 + 1
@ (refill) = 3 cycles per iteration, as from zero-wait memory.
@ Each phase raises one pin for its duration (SYSCLK = HSI 8 MHz, so the
@ virtual time stamps give cycles = us x 8):
@   PA3 flash LATENCY 0 | PA4 SRAM | PA5 flash LATENCY 2 + prefetch
@   PA6 flash LATENCY 2, no prefetch | PA7 SRAM with LATENCY 2
@   PA0 loop1 in flash, LATENCY 2 + prefetch
@ Last, DWT_CYCCNT (ARMv7-M C1.8.8) around the LATENCY 2 + prefetch loop
@ must count the same 9 x 2000 cycles (18000..18050 with the call), else PA2.
@ then PA1=1. N = 2000 iterations.
#include "common.inc"
    .equ N, 2000
    .equ SRAM_LOOP, 0x20000100
    .section .text
    .word 0x20005000
    .word reset + 1
    .word fail + 1
    .word fail + 1

reset:
    gpioa_init
    @ the loop, copied to SRAM (position independent)
    ldr r0, =loop
    ldr r1, =SRAM_LOOP
    ldr r2, =loop_end
1:  ldr r3, [r0], #4
    str r3, [r1], #4
    cmp r0, r2
    blo 1b
    ldr r5, =GPIOA
    ldr r6, =FLASH
    ldr r7, =loop + 1
    ldr r8, =SRAM_LOOP + 1

    mov r1, #0x30           @ ACR reset value: PRFTBE, LATENCY 0
    str r1, [r6]
    mov r4, #3
    mov r9, r7
    bl phase
    mov r4, #4
    mov r9, r8
    bl phase
    mov r1, #0x32           @ PRFTBE, LATENCY 2
    str r1, [r6]
    mov r4, #5
    mov r9, r7
    bl phase
    mov r1, #0x02           @ LATENCY 2, prefetch off
    str r1, [r6]
    mov r4, #6
    mov r9, r7
    bl phase
    mov r4, #7
    mov r9, r8
    bl phase
    mov r1, #0x32           @ PRFTBE, LATENCY 2
    str r1, [r6]
    mov r4, #0
    ldr r9, =loop1 + 1
    bl phase
    ldr r2, =0xE000EDFC     @ DEMCR.TRCENA
    mov r1, #(1 << 24)
    str r1, [r2]
    ldr r2, =0xE0001000     @ DWT_CTRL.CYCCNTENA
    mov r1, #1
    str r1, [r2]
    ldr r0, =N
    ldr r10, [r2, #4]       @ CYCCNT before
    blx r7                  @ the two-block loop, LATENCY 2 + prefetch
    ldr r11, [r2, #4]       @ CYCCNT after
    sub r11, r11, r10
    ldr r1, =18000
    cmp r11, r1
    blo fail
    ldr r1, =18050
    cmp r11, r1
    bhi fail
    pa_set 1
2:  b 2b

@ phase: PA<r4> high while the loop at r9 runs N times.
phase:
    push {lr}
    mov r1, #1
    lsl r1, r1, r4
    str r1, [r5, #0x10]     @ BSRR: PA<r4> = 1
    ldr r0, =N
    blx r9
    str r1, [r5, #0x14]     @ BRR: PA<r4> = 0
    pop {pc}

fail:
    pa_set 2
    b fail
    .pool

    .balign 8
loop:
    nop
    nop
    nop
    nop
    subs r0, #1
    bne loop
    bx lr
    nop
loop_end:

    .balign 8
loop1:
    subs r0, #1
    bne loop1
    bx lr
