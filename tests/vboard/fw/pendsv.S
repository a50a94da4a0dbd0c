@ pendsv.S - priorities and tail-chaining: SVC (priority 0x80) pends
@ PendSV (priority 0xF0) through ICSR.PENDSVSET; PendSV must run only after
@ SVCall returns (lower priority), then thread mode resumes. PRIMASK
@ holds off a pended SysTick until cpsie.
#include "common.inc"
    .section .text
    .word 0x20005000
    .word reset + 1
    .word hardfault + 1
    .word hardfault + 1
    .rept 7
    .word hardfault + 1
    .endr
    .word svc + 1           @ 11
    .word hardfault + 1
    .word hardfault + 1
    .word pendsv + 1        @ 14
    .word systick + 1       @ 15

reset:
    gpioa_init
    ldr r0, =SCB
    ldr r1, =0x80000000     @ SHPR2: SVCall priority 0x80
    str r1, [r0, #0x1C]
    ldr r1, =0x00F00000     @ SHPR3: PendSV 0xF0
    str r1, [r0, #0x20]
    ldr r6, =0x20000000     @ log: sequence of handler ids
    mov r7, #0
    str r7, [r6]
    svc #0
    ldr r1, [r6]
    ldr r2, =0x12           @ SVC (1) then PendSV (2), in that order
    cmp r1, r2
    bne fail
    @ PRIMASK: a pended SysTick waits for cpsie
    cpsid i
    ldr r0, =SCB
    ldr r1, =(1 << 26)      @ PENDSTSET
    str r1, [r0, #4]
    nop
    nop
    ldr r1, [r6]
    cmp r1, r2              @ SysTick not taken yet
    bne fail
    cpsie i
    nop
    nop
    ldr r1, [r6]
    ldr r2, =0x123
    cmp r1, r2
    bne fail
    pa_set 1
1:  b 1b
fail:
    pa_set 2
    b fail

log:                        @ r0 = id: log = log << 4 | id
    ldr r1, =0x20000000
    ldr r2, [r1]
    lsl r2, r2, #4
    orr r2, r2, r0
    str r2, [r1]
    bx lr

svc:
    push {lr}
    ldr r0, =SCB
    ldr r1, =(1 << 28)      @ PENDSVSET: lower priority, must wait
    str r1, [r0, #4]
    mov r0, #1
    bl log
    pop {pc}
pendsv:
    push {lr}
    mov r0, #2
    bl log
    pop {pc}
systick:
    push {lr}
    mov r0, #3
    bl log
    pop {pc}
hardfault:
    pa_set 2
    b hardfault
    .pool
