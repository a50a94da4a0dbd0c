@ strict.S - reads a register of an unmodelled peripheral (USART1 at
@ 0x40013800): reported; under --strict the run stops with status 3.
#include "common.inc"
    .section .text
    .word 0x20005000
    .word reset + 1
    .word hardfault + 1
    .word hardfault + 1

reset:
    gpioa_init
    ldr r0, =0x40013800
    ldr r1, [r0]
    pa_set 1
1:  b 1b
hardfault:
    pa_set 2
    b hardfault
    .pool
