/*
 * vb.h - what a peripheral model of the virtual STM32F103 sees of the board.
 *
 * The board (vb.c, cpu.c, main.c) owns the CPU, memory map, virtual clock,
 * NVIC and event log. Each peripheral model lives in its own file named after
 * the peripheral (rcc.c, flash.c, usb.c, ...), keeps its state in its own
 * struct, and talks to the rest only through these functions. Models must
 * not include unicorn.h: that keeps them unit-testable without a CPU (see
 * tests/vboard/, which links models against a small fake of this API).
 */
#ifndef VB_H
#define VB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vb;

/* ---- Memory-mapped registers ------------------------------------------ */

/* off is relative to the window base; size is 1, 2 or 4 bytes. */
typedef uint32_t (*vb_read_fn)(void *model, uint32_t off, unsigned size);
typedef void (*vb_write_fn)(void *model, uint32_t off, uint32_t value, unsigned size);

/* Claims [base, base+len) for a model. An access that falls in no window is
 * reported as "unmodelled" (a violation under --strict). */
void vb_mmio(struct vb *vb, const char *name, uint32_t base, uint32_t len,
             vb_read_fn rd, vb_write_fn wr, void *model);

/* ---- Virtual time --------------------------------------------------------
 * Time advances with executed instructions (one cycle each at SYSCLK) and by
 * stalls (flash busy). Models never sleep: they schedule. */
uint64_t vb_now_ns(const struct vb *vb);

/* Calls fn(model) once virtual time reaches t_ns (in order of t_ns). A model
 * cancels by ignoring the call (keep a generation counter). */
void vb_at(struct vb *vb, uint64_t t_ns, void (*fn)(void *model), void *model);

/* Stalls the CPU's flash accesses until t_ns (FLASH BSY, RM0008 3.3.3):
 * instruction fetches from flash do not advance until then. Under --realtime
 * the stall also takes that long in wall-clock time. */
void vb_flash_stall_until(struct vb *vb, uint64_t t_ns);

/* ---- Interrupts ----------------------------------------------------------
 * irq is the NVIC position (RM0008 table 63: USB_LP_CAN1_RX0 = 20,
 * USB_HP_CAN1_TX = 19, USBWakeup = 42, FLASH = 4, RCC = 5 ...).
 * Level semantics: while level is true the interrupt is pending. */
void vb_irq(struct vb *vb, unsigned irq, bool level);

/* ---- Clocks (answered by the RCC model) --------------------------------- */
enum vb_clk {
    VB_CLK_GPIOA, VB_CLK_GPIOB, VB_CLK_GPIOC, VB_CLK_GPIOD, VB_CLK_AFIO,
    VB_CLK_USB, VB_CLK_PWR, VB_CLK_BKP, VB_CLK_CRC, VB_CLK_FLITF,
};
bool vb_clock_enabled(const struct vb *vb, enum vb_clk clk);
uint32_t vb_sysclk_hz(const struct vb *vb);
/* USB kernel clock in Hz (0 when the PLL is off or USBEN is clear). */
uint32_t vb_usbclk_hz(const struct vb *vb);

/* ---- Pins (answered by the GPIO model) ----------------------------------
 * port is 'A'..'E', pin 0..15. */
/* What the chip drives on the pin: -1 not driven (input, analog, or alternate
 * function whose peripheral is off), 0 or 1 when a push-pull/open-drain
 * output drives it. */
int vb_pin_driven(const struct vb *vb, char port, unsigned pin);

/* ---- Cross-model hooks ---------------------------------------------------
 * The board wires these at start-up; a model calls them without knowing who
 * answers. */
/* USB model: true while CNTR.PDWN is set (transceiver off, pins are GPIO). */
bool vb_usb_powered_down(const struct vb *vb);
/* Board: true while the host sees the device attached, from the board's
 * wiring (--board): D+ pull-up present (fixed resistor, or the board's
 * pull-up control pin in its "on" state) and D+ not held low by PA12 as a
 * GPIO output (only possible while the USB block does not own PA12:
 * clock off and transceiver powered down, RM0008 9.1.11 table "USB"). */
bool vb_dplus_pulled_up(const struct vb *vb);
/* Board: the system reset of RM0008 7.1.2 (SYSRESETREQ, IWDG, ...). */
void vb_system_reset(struct vb *vb, const char *why);
/* Board: the supply is gone (vboard --cut-at-flash-op / --cut-at-ns, asked
 * by the flash model, which has printed why). Nothing runs any more; the run
 * ends with exit status 0 and the flash file keeps what the array holds. */
void vb_power_cut(struct vb *vb);

/* ---- Reporting ------------------------------------------------------------ */
/* A rule of RM0008/PM0075 broken by the firmware; rule cites the section.
 * Printed always; stops the run with exit status 3 under --strict. */
void vb_violation(struct vb *vb, const char *model, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* One line for a person, always printed, prefixed with virtual time:
 *   "[   0.512003] gpio PC13=0" */
void vb_event(struct vb *vb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Detail printed only when --trace names the category ("usb", "flash",
 * "mmio", "irq", "usbip"). */
void vb_trace(struct vb *vb, const char *category, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
