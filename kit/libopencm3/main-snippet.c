/*
 * main-snippet.c - what a libopencm3 application behind dfuboot adds to its
 * main(). Not a complete program.
 */
#include <libopencm3/cm3/scb.h>
#include <libopencm3/cm3/vector.h>

#include "dfuboot_app.h" /* kit/dfuboot_app.h */

int main(void)
{
    /* libopencm3's reset_handler does not set VTOR, and an image started
     * by a debugger at APP_BASE would still use the table at 0x08000000.
     * Do it before enabling any interrupt. */
    SCB_VTOR = (uint32_t)&vector_table;

    /* ... clocks, peripherals, the application ... */

    /* When the user asks for an update (button, USB command, ...): */
    /* dfuboot_reboot_to_bootloader(); */
    for (;;) {
    }
}
