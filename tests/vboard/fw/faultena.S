@ faultena.S - enabled configurable fault handlers are used (PM0056 4.4.9
@ SHCSR: "USGFAULTENA: Usage fault enable bit, set to 1 to enable",
@ "BUSFAULTENA"; 2.4 "Fault handling": a fault goes to the handler of its
@ class when enabled). An undefined instruction enters UsageFault (vector
@ 6) with CFSR.UNDEFINSTR and no HFSR.FORCED; the handler skips the
@ instruction and returns. A load from an unmapped address then enters
@ BusFault (vector 5) with PRECISERR and BFARVALID. HardFault = failure.
#include "common.inc"
    .section .text
    .word 0x20005000
    .word reset + 1
    .word fail + 1          @ NMI
    .word fail + 1          @ HardFault
    .word fail + 1          @ MemManage
    .word busfault + 1      @ BusFault
    .word usagefault + 1    @ UsageFault

reset:
    gpioa_init
    ldr r0, =SCB
    ldr r1, =(1 << 18) | (1 << 17)   @ USGFAULTENA | BUSFAULTENA
    str r1, [r0, #0x24]
    udf #0
    pa_set 3                @ back from UsageFault
    ldr r0, =0x30000000     @ nothing is mapped there
    ldr r1, [r0]
    b fail
usagefault:
    mrs r0, ipsr
    cmp r0, #6
    bne fail
    ldr r0, =SCB
    ldr r1, [r0, #0x28]     @ CFSR
    tst r1, #(1 << 16)      @ UNDEFINSTR
    beq fail
    ldr r2, [r0, #0x2C]     @ HFSR
    tst r2, #(1 << 30)      @ not FORCED
    bne fail
    ldr r2, [r0, #0x24]     @ SHCSR.USGFAULTACT (bit 3) while in the handler
    tst r2, #(1 << 3)
    beq fail
    str r1, [r0, #0x28]     @ clear CFSR (rc_w1)
    ldr r1, [sp, #24]       @ stacked PC: skip the 16-bit udf
    add r1, r1, #2
    str r1, [sp, #24]
    bx lr
busfault:
    mrs r0, ipsr
    cmp r0, #5
    bne fail
    ldr r0, =SCB
    ldr r1, [r0, #0x28]
    tst r1, #(1 << 9)       @ PRECISERR
    beq fail
    tst r1, #(1 << 15)      @ BFARVALID
    beq fail
    ldr r1, [r0, #0x38]     @ BFAR
    ldr r2, =0x30000000
    cmp r1, r2
    bne fail
    pa_set 1
1:  b 1b
fail:
    pa_set 2
    b fail
    .pool
