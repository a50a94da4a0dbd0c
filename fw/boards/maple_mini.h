/* maple_mini.h - LeafLabs Maple Mini: D+ pull-up switched by PB9 (low = on). */
#ifndef BOARD_H
#define BOARD_H

#define BOARD_NAME "maple_mini"
#define BOARD_HSE_HZ 8000000u
#define BOARD_LED_PORT 'B'
#define BOARD_LED_PIN 1
#define BOARD_LED_ACTIVE_LOW 0
#define BOARD_ENTRY_PORT 'B' /* "BUT" button */
#define BOARD_ENTRY_PIN 8
#define BOARD_ENTRY_ACTIVE_HIGH 1
#define BOARD_USB_PULLUP_PORT 'B'
#define BOARD_USB_PULLUP_PIN 9
#define BOARD_USB_PULLUP_ACTIVE_LOW 1

#endif
