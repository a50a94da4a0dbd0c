/* maple_mini.h - LeafLabs Maple Mini: D+ pull-up switched by PB9 (low = on).
 * Its only button, BUT, reads on PB8 but is wired to BOOT0 as well (see
 * vboard/board.h for the evidence): held through a reset it starts ST's ROM
 * serial bootloader, and pressed after the reset it comes too late for a
 * pin check. So the entry is a double reset, always on (costs the 0.5 s
 * window at every boot); no entry pin. */
#ifndef BOARD_H
#define BOARD_H

#define BOARD_NAME "maple_mini"
#define BOARD_HSE_HZ 8000000u
#define BOARD_LED_PORT 'B'
#define BOARD_LED_PIN 1
#define BOARD_LED_ACTIVE_LOW 0
#define BOARD_ENTRY_DOUBLE_RESET 1
#define BOARD_USB_PULLUP_PORT 'B'
#define BOARD_USB_PULLUP_PIN 9
#define BOARD_USB_PULLUP_ACTIVE_LOW 1

#endif
