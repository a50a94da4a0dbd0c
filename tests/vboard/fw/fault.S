@ fault.S - an undefined instruction enters HardFault with the faulting PC
@ stacked (PM0056 2.4 fault escalation); the handler checks the stacked PC
@ and CFSR.UNDEFINSTR, HFSR.FORCED.
#include "common.inc"
    .section .text
    .word 0x20005000
    .word reset + 1
    .word hardfault + 1
    .word hardfault + 1

reset:
    gpioa_init
bad:
    udf #0
    pa_set 2
1:  b 1b

hardfault:
    ldr r0, [sp, #24]       @ stacked PC
    ldr r1, =bad
    cmp r0, r1
    bne fail
    ldr r0, =SCB
    ldr r1, [r0, #0x28]     @ CFSR
    tst r1, #(1 << 16)      @ UNDEFINSTR
    beq fail
    ldr r1, [r0, #0x2C]     @ HFSR
    tst r1, #(1 << 30)      @ FORCED
    beq fail
    pa_set 1
2:  b 2b
fail:
    pa_set 2
    b fail
    .pool
