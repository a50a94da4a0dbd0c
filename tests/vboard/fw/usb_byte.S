@ usb_byte.S - a byte store to the USB packet memory. RM0008 23.5: the USB
@ registers and packet buffers are accessed by half-words or words; the APB
@ bridge (RM0008 3.1) turns the byte into a 32-bit store of the byte in
@ every lane, so vboard reports the store itself as a violation.
#include "common.inc"
    .section .text
    .word 0x20005000
    .word reset + 1
    .word hardfault + 1
    .word hardfault + 1

reset:
    gpioa_init
    ldr r0, =0x40006000     @ packet memory, first word
    mov r1, #0x5A
    strb r1, [r0]
    pa_set 1
1:  b 1b
hardfault:
    pa_set 2
    b hardfault
    .pool
