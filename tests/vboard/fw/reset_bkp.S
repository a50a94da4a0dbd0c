@ reset_bkp.S - SYSRESETREQ keeps the backup registers (RM0008 6.1) and
@ sets RCC_CSR.SFTRSTF; SRAM is not cleared by a system reset either.
#include "common.inc"
    .section .text
    .word 0x20005000
    .word reset + 1
    .word hardfault + 1
    .word hardfault + 1

reset:
    gpioa_init
    ldr r0, =RCC
    ldr r1, [r0, #0x1C]
    orr r1, r1, #(3 << 27)  @ PWREN | BKPEN
    str r1, [r0, #0x1C]
    ldr r0, =PWR
    mov r1, #(1 << 8)       @ DBP
    str r1, [r0]
    ldr r0, =BKP
    ldr r1, [r0, #4]        @ DR1
    ldr r2, =0x1234
    cmp r1, r2
    beq second_boot
    cmp r1, #0
    bne fail
    str r2, [r0, #4]        @ DR1 = 0x1234
    pa_set 4                @ first boot marker
    ldr r0, =SCB
    ldr r1, =0x05FA0004     @ VECTKEY | SYSRESETREQ
    str r1, [r0, #0x0C]
1:  b 1b

second_boot:
    ldr r0, =RCC
    ldr r1, [r0, #0x24]     @ CSR
    tst r1, #(1 << 28)      @ SFTRSTF
    beq fail
    tst r1, #(1 << 27)      @ PORRSTF still set: flags accumulate until RMVF
    beq fail
    pa_set 1
2:  b 2b
fail:
    pa_set 2
    b fail
hardfault:
    pa_set 2
    b hardfault
    .pool
