@ repeat.S - breaks the same rule 100 times: a write to the read-only
@ GPIOA_IDR (RM0008 9.2.3 "read only"). vboard prints the violation once
@ and the number of repeats at exit; --strict stops at the first.
#include "common.inc"
    .section .text
    .word 0x20005000
    .word reset + 1
    .word hardfault + 1
    .word hardfault + 1

reset:
    gpioa_init
    ldr r0, =GPIOA
    mov r2, #100
1:  str r2, [r0, #0x08]     @ IDR
    subs r2, #1
    bne 1b
    pa_set 1
2:  b 2b
hardfault:
    pa_set 2
    b hardfault
    .pool
