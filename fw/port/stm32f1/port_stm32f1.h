/* port_stm32f1.h - what the STM32F1 port's files offer each other. */
#ifndef PORT_STM32F1_H
#define PORT_STM32F1_H

#include <stdbool.h>
#include <stdint.h>

/* A board without a usable entry pin turns the double reset on. */
#ifndef BOARD_ENTRY_DOUBLE_RESET
#define BOARD_ENTRY_DOUBLE_RESET 0
#endif

/* clock.c */
void clock_init_72mhz(void); /* after led_on; no crystal: blinks it for ever */
void delay_ms(uint32_t ms, uint32_t sysclk_hz); /* ms * sysclk_hz / 1000 <= 2^24 */
void clock_boot_fast(void); /* from reset: SYSCLK 64 MHz (PLL, HSI / 2) */
void clock_reset(void);     /* from clock_boot_fast: every clock register
                               at its reset value (RM0008 7.3, 3.3.3) */

/* gpio.c: board pins (fw/boards/<name>.h) */
bool entry_pin_active(void); /* leaves GPIO clocks and config as at reset */
void led_on(void);
void usb_bus_detach(void);   /* USB block off (usb_stop), host sees a
                               disconnect until usb_start, usb_bus_attach */
void usb_bus_attach(void);

/* bkp.c */
bool bkp_take_magic(void);
bool bkp_double_reset(void);

/* usb.c */
void usb_start(void);
void usb_poll(void);
void usb_stop(void);

/* ticks.c */
void ticks_start(void); /* port_ms() counts from here on (SysTick) */

/* system.c */
void watchdog_kick(void); /* a hardware-started IWDG must not reset an update */
void system_reset(void) __attribute__((noreturn));
void jump_to_app(uint32_t base) __attribute__((noreturn));

/* option_bytes.c */
void option_bytes_apply(void);

#endif
