/* bluepill.h - STM32F103C8/CB "blue pill": fixed 1.5k (often 10k) D+ pull-up. */
#ifndef BOARD_H
#define BOARD_H

#define BOARD_NAME "bluepill"
#define BOARD_HSE_HZ 8000000u
#define BOARD_LED_PORT 'C'
#define BOARD_LED_PIN 13
#define BOARD_LED_ACTIVE_LOW 1
#define BOARD_ENTRY_PORT 'B' /* BOOT1 jumper */
#define BOARD_ENTRY_PIN 2
#define BOARD_ENTRY_ACTIVE_HIGH 1

#endif
