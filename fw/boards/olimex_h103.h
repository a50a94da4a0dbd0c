/* olimex_h103.h - Olimex STM32-H103: D+ pull-up switched by PC11 (low = on). */
#ifndef BOARD_H
#define BOARD_H

#define BOARD_NAME "olimex_h103"
#define BOARD_HSE_HZ 8000000u
#define BOARD_LED_PORT 'C'
#define BOARD_LED_PIN 12
#define BOARD_LED_ACTIVE_LOW 1
#define BOARD_ENTRY_PORT 'A' /* WAKE-UP button: pressed = high (unverified, see README) */
#define BOARD_ENTRY_PIN 0
#define BOARD_ENTRY_ACTIVE_HIGH 1
#define BOARD_USB_PULLUP_PORT 'C'
#define BOARD_USB_PULLUP_PIN 11
#define BOARD_USB_PULLUP_ACTIVE_LOW 1

#endif
