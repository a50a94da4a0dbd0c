@ regdump.S - an application whose first instructions read every RCC
@ register, FLASH_ACR and SysTick's CSR, nothing written before: with
@ vboard --trace mmio the values the bootloader left at the jump
@ (tests/stamp/boot_clocks.sh). Linked at the application base (-Ttext).
@ Words 7..10 of the vector table are the dfuboot stamp's (common/dfuboot_abi.h).
    .syntax unified
    .cpu cortex-m3
    .thumb
    .section .text
    .word 0x20005000        @ SP: inside every F103's SRAM
    .word reset + 1
    .word hang + 1          @ NMI
    .word hang + 1          @ HardFault
    .word 0, 0, 0           @ MemManage, BusFault, UsageFault
    .word 0, 0, 0, 0        @ the stamp: magic, length, CRC, ~CRC
    .word 0, 0, 0, 0, 0     @ SVCall .. SysTick

reset:
    ldr r0, =0x40021000     @ RCC (RM0008 7.3.11 register map)
    ldr r1, [r0, #0x00]     @ RCC_CR
    ldr r1, [r0, #0x04]     @ RCC_CFGR
    ldr r1, [r0, #0x08]     @ RCC_CIR
    ldr r1, [r0, #0x0C]     @ RCC_APB2RSTR
    ldr r1, [r0, #0x10]     @ RCC_APB1RSTR
    ldr r1, [r0, #0x14]     @ RCC_AHBENR
    ldr r1, [r0, #0x18]     @ RCC_APB2ENR
    ldr r1, [r0, #0x1C]     @ RCC_APB1ENR
    ldr r1, [r0, #0x20]     @ RCC_BDCR
    ldr r1, [r0, #0x24]     @ RCC_CSR
    ldr r0, =0x40022000
    ldr r1, [r0]            @ FLASH_ACR (RM0008 3.3.3)
    ldr r0, =0xE000E010
    ldr r1, [r0]            @ SYST_CSR (PM0056 4.5.1)
hang:
    b hang
    .pool
