@ resetvec.S - a reset vector without the Thumb bit. ARMv7-M B1.5.5: reset
@ "EPSR.T = bit 0 of the reset vector"; the first instruction then raises
@ an INVSTATE UsageFault, which is not enabled after reset and escalates to
@ HardFault (PM0056 2.4). The HardFault handler runs: CFSR.INVSTATE and
@ HFSR.FORCED are set, the stacked PC is the reset vector's address.
#include "common.inc"
    .section .text
    .word 0x20005000
    .word reset             @ bit 0 clear
    .word hardfault + 1
    .word hardfault + 1

    .balign 4
reset:
    b reset
hardfault:
    gpioa_init
    ldr r0, [sp, #24]       @ stacked PC
    ldr r1, =reset
    cmp r0, r1
    bne fail
    ldr r0, =SCB
    ldr r1, [r0, #0x28]     @ CFSR
    tst r1, #(1 << 17)      @ INVSTATE
    beq fail
    ldr r1, [r0, #0x2C]     @ HFSR
    tst r1, #(1 << 30)      @ FORCED
    beq fail
    pa_set 1
1:  b 1b
fail:
    pa_set 2
    b fail
    .pool
