/* olimex_h103.h - Olimex STM32-H103: D+ pull-up switched by PC11 (low = on). */
#ifndef BOARD_H
#define BOARD_H

#define BOARD_NAME "olimex_h103"
#define BOARD_HSE_HZ 8000000u
#define BOARD_LED_PORT 'C'
#define BOARD_LED_PIN 12
#define BOARD_LED_ACTIVE_LOW 1
/* WAKE-UP button on PA0 (WKUP), pressed = high. Not confirmed from the H103
 * schematic here; Olimex's other boards with a PA0 WAKE-UP button are read
 * that way (ChibiOS code for OLIMEX_STM32_E407: "Detect button pushed" as
 * palReadPad(GPIOA, GPIOA_BUTTON_WKUP) != 0). README says how to check. */
#define BOARD_ENTRY_PORT 'A'
#define BOARD_ENTRY_PIN 0
#define BOARD_ENTRY_ACTIVE_HIGH 1
#define BOARD_USB_PULLUP_PORT 'C'
#define BOARD_USB_PULLUP_PIN 11
#define BOARD_USB_PULLUP_ACTIVE_LOW 1

#endif
