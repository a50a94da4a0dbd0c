@ invstate.S - a vector without the Thumb bit (PM0056 2.3.4 "Vector table":
@ "bit[0] of each vector must be 1"; ARMv7-M B1.5.6: exception entry loads
@ EPSR.T from bit 0, and executing with T = 0 is an INVSTATE UsageFault).
@ The SysTick vector here is even; UsageFault is not enabled in SHCSR, so
@ the fault escalates to HardFault (PM0056 2.4: "HardFault ... when a fault
@ cannot be handled by the handler of its class") with HFSR.FORCED and
@ CFSR.INVSTATE, and the stacked PC is the SysTick handler's address.
#include "common.inc"
    .section .text
    .word 0x20005000
    .word reset + 1
    .word fail + 1          @ NMI
    .word hardfault + 1     @ HardFault
    .word fail + 1, fail + 1, fail + 1, 0, 0, 0, 0, fail + 1, fail + 1, 0, fail + 1
    .word systick           @ 15 SysTick: bit 0 clear

reset:
    gpioa_init
    ldr r0, =SCB
    mov r1, #(1 << 26)      @ ICSR.PENDSTSET
    str r1, [r0, #0x04]
    nop
    nop
    b fail
hardfault:
    ldr r0, [sp, #24]       @ stacked PC
    ldr r1, =systick
    cmp r0, r1
    bne fail
    ldr r0, [sp, #28]       @ stacked xPSR: T (bit 24) clear, as executed
    tst r0, #(1 << 24)
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
    .balign 4
systick:
    b systick
fail:
    pa_set 2
    b fail
    .pool
