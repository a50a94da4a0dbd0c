@ busfault.S - a load from an address with nothing behind it (0x60000000)
@ is a precise bus fault escalated to HardFault (PM0056 2.4, 4.4.11):
@ CFSR.PRECISERR and BFARVALID, BFAR = the address. The stacked PC is the
@ start of the translated block holding the load (Unicorn 2.0.1 does not
@ sync the PC on memory errors), so only "at or before the load" is checked.
#include "common.inc"
    .section .text
    .word 0x20005000
    .word reset + 1
    .word hardfault + 1
    .word hardfault + 1

reset:
    gpioa_init
    ldr r0, =0x60000000
    mov r2, #1
    add r2, r2, #1
bad:
    ldr r1, [r0]
    pa_set 2
1:  b 1b

hardfault:
    ldr r0, [sp, #24]       @ stacked PC
    ldr r1, =bad
    cmp r0, r1
    bhi fail
    ldr r1, =reset
    cmp r0, r1
    blo fail
    ldr r0, =SCB
    ldr r1, [r0, #0x28]     @ CFSR
    tst r1, #(1 << 9)       @ PRECISERR
    beq fail
    tst r1, #(1 << 15)      @ BFARVALID
    beq fail
    ldr r1, [r0, #0x38]     @ BFAR
    ldr r2, =0x60000000
    cmp r1, r2
    bne fail
    pa_set 1
2:  b 2b
fail:
    pa_set 2
    b fail
    .pool
