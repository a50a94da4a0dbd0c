@ usb_pins.S - PA12 (USB D+) belongs to the USB block while it is enabled:
@ RM0008 9.1.11, table "USB": "As soon as the USB is enabled, these pins are
@ automatically connected to the internal USB transceiver." On the blue pill
@ (fixed D+ pull-up) PA12 driven low as a GPIO output must therefore not
@ disconnect the device while the USB clock is on (PA3=1 marks that phase),
@ and must once the clock is off again (PA4=1 marks that phase).
#include "common.inc"
    .section .text
    .word 0x20005000
    .word reset + 1
    .word hardfault + 1
    .word hardfault + 1

@ At least \ms milliseconds on the 8 MHz HSI (two instructions a pass; a
@ taken branch costs more than one cycle, PM0056 3.3.1, so it runs longer).
    .macro wait_ms ms
    ldr r2, =(\ms * 4000)
1:  subs r2, r2, #1
    bne 1b
    .endm

reset:
    gpioa_init
    wait_ms 200             @ the host sees the device (pull-up, debounce)
    ldr r0, =RCC
    ldr r1, [r0, #0x1C]
    orr r1, r1, #(1 << 23)  @ APB1ENR.USBEN: the USB block is enabled
    str r1, [r0, #0x1C]
    ldr r0, =GPIOA
    ldr r1, [r0, #4]        @ CRH: PA12 push-pull output, 2 MHz
    bic r1, r1, #(0xF << 16)
    orr r1, r1, #(0x2 << 16)
    str r1, [r0, #4]
    mov r1, #(1 << 28)      @ BSRR: PA12 low
    str r1, [r0, #0x10]
    pa_set 3
    wait_ms 50
    ldr r0, =RCC
    ldr r1, [r0, #0x1C]
    bic r1, r1, #(1 << 23)  @ USB clock off (CNTR still PDWN from reset)
    str r1, [r0, #0x1C]
    pa_set 4
    wait_ms 50
    pa_set 1
2:  b 2b
hardfault:
    pa_set 2
    b hardfault
    .pool
