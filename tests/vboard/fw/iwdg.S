@ iwdg.S - the IWDG resets the chip when not reloaded (RM0008 19.3) and
@ the reset sets RCC_CSR.IWDGRSTF; the backup registers survive it.
#include "common.inc"
    .section .text
    .word 0x20005000
    .word reset + 1
    .word hardfault + 1
    .word hardfault + 1

reset:
    gpioa_init
    ldr r0, =RCC
    ldr r1, [r0, #0x24]
    tst r1, #(1 << 29)      @ IWDGRSTF
    bne after
    pa_set 4                @ first boot marker
    ldr r0, =IWDG
    ldr r1, =0x5555
    str r1, [r0]
    mov r1, #0              @ PR = /4
    str r1, [r0, #4]
    mov r1, #99             @ RLR: 100 ticks of 10 kHz = 10 ms
    str r1, [r0, #8]
    ldr r1, =0xCCCC
    str r1, [r0]
1:  b 1b                    @ no reload: reset after 10 ms
after:
    pa_set 1
2:  b 2b
hardfault:
    pa_set 2
    b hardfault
    .pool
