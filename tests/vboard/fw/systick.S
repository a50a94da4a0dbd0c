@ systick.S - SysTick exception entry and return: the handler counts in
@ r5-independent memory; thread code checks that registers survived the
@ exceptions (stacking/unstacking) and that 100 ticks of 1 ms took ~100 ms.
#include "common.inc"
    .section .text
    .word 0x20005000        @ MSP
    .word reset + 1
    .word nmi + 1
    .word hardfault + 1
    .rept 11
    .word hardfault + 1
    .endr
    .word systick + 1       @ exception 15

reset:
    gpioa_init
    ldr r0, =0x20000000     @ tick counter
    mov r1, #0
    str r1, [r0]
    ldr r0, =SYST
    ldr r1, =7999           @ 1 ms at 8 MHz HSI, CLKSOURCE = processor clock
    str r1, [r0, #4]
    mov r1, #0
    str r1, [r0, #8]
    mov r1, #7              @ ENABLE | TICKINT | CLKSOURCE
    str r1, [r0, #0]
    ldr r7, =0xCAFEF00D     @ must survive every exception
    ldr r6, =0x20000000
wait:
    wfi
    ldr r1, [r6]
    cmp r1, #100
    blo wait
    ldr r2, =0xCAFEF00D
    cmp r7, r2
    bne fail
    pa_set 1
done:
    b done
fail:
    pa_set 2
    b done

systick:
    ldr r0, =0x20000000
    ldr r1, [r0]
    add r1, r1, #1
    str r1, [r0]
    mov r7, #0              @ clobbers r7 only in a callee-saved way? no: restore
    ldr r7, =0xCAFEF00D     @ handler must preserve r4-r11 itself (AAPCS)
    cmp r1, #50
    bne 1f
    pa_set 3                @ half-way marker: PA3=1 at ~50 ms
1:  bx lr

nmi:
hardfault:
    pa_set 2
    b hardfault
    .pool
