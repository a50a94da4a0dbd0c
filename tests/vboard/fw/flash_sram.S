@ flash_sram.S - flash programming through the FPEC from code running in
@ SRAM (RM0008 3.3.3 / PM0075 2.3): unlock, program a half-word, PGERR on
@ reprogramming, 0x0000 allowed, page erase, read stalled while BSY, lock. The routine is copied
@ to SRAM and called there.
#include "common.inc"
    .equ TARGET, 0x08008000
    .section .text
    .word 0x20005000
    .word reset + 1
    .word hardfault + 1
    .word hardfault + 1

reset:
    gpioa_init
    ldr r0, =routine
    ldr r1, =0x20001000
    ldr r2, =routine_end
1:  ldr r3, [r0], #4
    str r3, [r1], #4
    cmp r0, r2
    blo 1b
    ldr r0, =0x20001001
    blx r0                  @ returns 0 on success, step number on failure
    cmp r0, #0
    bne fail
    pa_set 1
2:  b 2b
fail:
    lsl r0, r0, #3          @ step code on PA3..PA7
    ldr r1, =GPIOA
    str r0, [r1, #0x10]
    pa_set 2
3:  b 3b
hardfault:
    pa_set 2
    b hardfault
    .pool

    .align 2
routine:
    push {r4-r7, lr}
    ldr r4, =FLASH
    ldr r5, =TARGET
    @ unlock
    ldr r1, =0x45670123
    str r1, [r4, #4]
    ldr r1, =0xCDEF89AB
    str r1, [r4, #4]
    ldr r1, [r4, #0x10]
    mov r0, #1
    tst r1, #(1 << 7)       @ LOCK must be clear
    bne out
    @ program 0xBEEF
    mov r1, #1              @ PG
    str r1, [r4, #0x10]
    ldr r1, =0xBEEF
    strh r1, [r5]
    bl wait_bsy
    ldrh r1, [r5]
    ldr r2, =0xBEEF
    mov r0, #2
    cmp r1, r2
    bne out
    ldr r1, [r4, #0x0C]
    mov r0, #3
    tst r1, #(1 << 5)       @ EOP
    beq out
    mov r1, #(1 << 5)
    str r1, [r4, #0x0C]     @ clear EOP (rc_w1)
    @ reprogram with 0x1234: PGERR, no change
    ldr r1, =0x1234
    strh r1, [r5]
    bl wait_bsy
    ldr r1, [r4, #0x0C]
    mov r0, #4
    tst r1, #(1 << 2)       @ PGERR
    beq out
    ldrh r1, [r5]
    ldr r2, =0xBEEF
    mov r0, #5
    cmp r1, r2
    bne out
    mov r1, #(1 << 2)
    str r1, [r4, #0x0C]
    @ 0x0000 is allowed on a programmed location
    mov r1, #0
    strh r1, [r5]
    bl wait_bsy
    ldrh r1, [r5]
    mov r0, #6
    cmp r1, #0
    bne out
    @ page erase
    mov r1, #0
    str r1, [r4, #0x10]     @ PG off
    mov r1, #2              @ PER
    str r1, [r4, #0x10]
    str r5, [r4, #0x14]     @ AR
    mov r1, #(2 | 0x40)     @ PER | STRT
    str r1, [r4, #0x10]
    bl wait_bsy
    ldr r1, [r5]
    mov r0, #7
    cmp r1, #-1
    bne out
    @ PM0075 2.3.3: a read of flash while BSY stalls until programming is
    @ over, so reading back at once (no BSY poll) gives the new value.
    mov r1, #1              @ PG
    str r1, [r4, #0x10]
    ldr r1, =0x1234
    strh r1, [r5, #2]
    ldrh r2, [r5, #2]
    mov r0, #8
    cmp r1, r2
    bne out
    ldr r1, [r4, #0x0C]
    mov r0, #9
    tst r1, #1              @ BSY must be clear by then
    bne out
    mov r1, #0
    str r1, [r4, #0x10]
    @ lock
    mov r1, #(1 << 7)
    str r1, [r4, #0x10]
    mov r0, #0
out:
    pop {r4-r7, pc}
wait_bsy:
    ldr r1, [r4, #0x0C]
    tst r1, #1
    bne wait_bsy
    bx lr
    .pool
routine_end:
