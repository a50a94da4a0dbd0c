/* boot.h - right after reset: start the application or stay in DFU mode. */
#ifndef BOOT_H
#define BOOT_H

#include <stdbool.h>

enum boot_reason {
    BOOT_APP = 0,
    BOOT_DFU_REQUESTED, /* BKP_DR1 magic left by the application */
    BOOT_DFU_PIN,       /* entry pin (BOOT1, button) active */
    BOOT_DFU_DOUBLE,    /* second reset within the window (DOUBLE_RESET=1) */
    BOOT_DFU_NO_APP,    /* nothing valid at APP_BASE */
};

struct boot_inputs {
    bool magic;
    bool pin;
    bool double_reset;
};

/* Checks the image only when nothing else asks for DFU mode. memmap must
 * be initialised. */
enum boot_reason boot_decide(const struct boot_inputs *in, bool strict);

#endif
