/*
 * wrp_probe.c - an application (at 0x08002000, unstamped) that attacks the
 * bootloader pages directly through the FPEC, bypassing the bootloader:
 * page erase of 0x08000000 and a half-word program at 0x08001000 must both
 * end with WRPRTERR (write protection, PM0075 2.4.2) and leave the bytes as
 * they were; as a control, an erase of the last page of a 64 KiB part
 * (0x0800FC00, not protected) must succeed. Result on GPIOA:
 * PA1=1 all as expected, PA2=1 otherwise (PA3=1 when the protected erase
 * went through, PA4=1 when the protected program went through).
 */
#include <stdint.h>

#define REG(a) (*(volatile uint32_t *)(a))
#define FLASH_KEYR REG(0x40022004u)
#define FLASH_SR REG(0x4002200Cu)
#define FLASH_CR REG(0x40022010u)
#define FLASH_AR REG(0x40022014u)
#define RCC_APB2ENR REG(0x40021018u)
#define GPIOA_CRL REG(0x40010800u)
#define GPIOA_BSRR REG(0x40010810u)
#define SR_BSY 1u
#define SR_PGERR 4u
#define SR_WRPRTERR 16u
#define SR_EOP 32u
#define CR_PG 1u
#define CR_PER 2u
#define CR_STRT 64u

void reset_handler(void);
__attribute__((section(".vectors"), used)) const uint32_t vectors[16] = {
    0x20005000u, (uint32_t)reset_handler};

static uint32_t wait_done(void)
{
    while (FLASH_SR & SR_BSY)
        ;
    uint32_t sr = FLASH_SR;
    FLASH_CR = 0;
    return sr;
}

static uint32_t erase(uint32_t a)
{
    FLASH_SR = SR_EOP | SR_PGERR | SR_WRPRTERR;
    FLASH_CR = CR_PER;
    FLASH_AR = a;
    FLASH_CR = CR_PER | CR_STRT;
    return wait_done();
}

static uint32_t program(uint32_t a, uint16_t v)
{
    FLASH_SR = SR_EOP | SR_PGERR | SR_WRPRTERR;
    FLASH_CR = CR_PG;
    *(volatile uint16_t *)a = v;
    return wait_done();
}

void reset_handler(void)
{
    RCC_APB2ENR |= 1u << 2; /* IOPAEN */
    GPIOA_CRL = (GPIOA_CRL & ~0x000FFFF0u) | 0x00022220u; /* PA1..PA4 outputs */
    FLASH_KEYR = 0x45670123u;
    FLASH_KEYR = 0xCDEF89ABu;
    uint32_t first = *(volatile uint32_t *)0x08000000u;
    uint16_t second = *(volatile uint16_t *)0x08001000u;
    uint32_t e = erase(0x08000000u);
    uint32_t p = program(0x08001000u, 0x0000u);
    uint32_t c = erase(0x0800FC00u);
    int erase_refused = (e & SR_WRPRTERR) && *(volatile uint32_t *)0x08000000u == first;
    int prog_refused = (p & SR_WRPRTERR) && *(volatile uint16_t *)0x08001000u == second;
    int control_ok = (c & SR_EOP) && !(c & (SR_WRPRTERR | SR_PGERR));
    if (!erase_refused)
        GPIOA_BSRR = 1u << 3;
    if (!prog_refused)
        GPIOA_BSRR = 1u << 4;
    GPIOA_BSRR = erase_refused && prog_refused && control_ok ? 1u << 1 : 1u << 2;
    for (;;)
        ;
}
