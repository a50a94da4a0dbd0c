@ apb_width.S - RM0008 3.1 "AHB/APB bridges (APB)": "When a 16- or 8-bit
@ access is performed on an APB register, the access is transformed into a
@ 32-bit access: the bridge duplicates the 16- or 8-bit data to feed the
@ 32-bit vector." GPIOA is on APB2 (RM0008 table 3).
@ 1. strh 0x0010 to GPIOA_BSRR+2, meant to reset PA4: the bridge writes
@    0x00100010 to BSRR, so BS4 and BR4 are both set and "if both BSx and
@    BRx are set, BSx has priority" (RM0008 9.2.5): PA4 stays 1.
@ 2. strb 0x01 to GPIOA_ODR+1, meant to set PA8: the bridge writes
@    0x01010101 to ODR, whose 16 bits become 0x0101 (PA0 and PA8 set, PA4
@    cleared).
@ 3. RCC is on the AHB (RM0008 figure 1 / table 3), not behind a bridge:
@    strb 0x15 to RCC_APB2ENR (IOPA, IOPC already on) changes only byte 0,
@    APB2ENR reads 0x15 (widened it would be 0x00151515 after the mask).
@ PA1=1 when all hold, PA2=1 otherwise.
#include "common.inc"
    .section .text
    .word 0x20005000
    .word reset + 1
    .word fail + 1
    .word fail + 1

reset:
    gpioa_init
    ldr r0, =GPIOA
    mov r1, #(1 << 4)
    str r1, [r0, #0x10]     @ BSRR: PA4 = 1 (a word access)
    strh r1, [r0, #0x12]    @ BSRR high half: "reset PA4"
    ldr r2, [r0, #0x0C]     @ ODR
    tst r2, #(1 << 4)
    beq fail                @ PA4 was reset: the half-word was not duplicated
    mov r1, #1
    strb r1, [r0, #0x0D]    @ ODR byte 1: "set PA8"
    ldr r2, [r0, #0x0C]
    ldr r3, =0x0101
    cmp r2, r3
    bne fail
    ldr r0, =RCC
    mov r1, #0x15           @ AFIOEN | IOPAEN | IOPCEN
    strb r1, [r0, #0x18]    @ APB2ENR byte 0
    ldr r2, [r0, #0x18]
    cmp r2, #0x15
    bne fail
    pa_set 1
1:  b 1b
fail:
    pa_set 2
    b fail
    .pool
