@ lockup.S - a fault inside the HardFault handler is lockup (ARMv7-M
@ B1.5.15 "Unrecoverable exception cases": a fault at priority -1 "causes
@ the processor to enter Lockup state"). The first udf enters HardFault
@ (PA3=1), whose own udf locks the core: nothing after it runs (PA2).
#include "common.inc"
    .section .text
    .word 0x20005000
    .word reset + 1
    .word hardfault + 1     @ NMI
    .word hardfault + 1     @ HardFault

reset:
    gpioa_init
    udf #0
    b fail
hardfault:
    pa_set 3
    udf #1
fail:
    pa_set 2
    b fail
    .pool
