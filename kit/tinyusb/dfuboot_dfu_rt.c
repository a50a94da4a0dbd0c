/*
 * dfuboot_dfu_rt.c - TinyUSB: `dfu-util -e` and one-command updates for an
 * STM32F103 application behind dfuboot. Add this file to the project and:
 *
 * 1. tusb_config.h:
 *        #define CFG_TUD_DFU_RUNTIME 1
 * 2. usb_descriptors.c, in the configuration descriptor (and count
 *    TUD_DFU_RT_DESC_LEN in CONFIG_TOTAL_LEN, one more interface in
 *    ITF_NUM_TOTAL):
 *        TUD_DFU_RT_DESCRIPTOR(ITF_NUM_DFU_RT, STRID_DFU_RT,
 *            DFU_ATTR_WILL_DETACH | DFU_ATTR_CAN_DOWNLOAD | DFU_ATTR_CAN_UPLOAD,
 *            1000, 1024),
 *    Serial number string: dfuboot_serial_string() of dfuboot_app.h (the
 *    bootloader's, so dfu-util -S SERIAL finds the board in both modes).
 * 3. main loop, after tud_task():
 *        dfuboot_dfu_rt_task(board_millis(), SystemCoreClock);
 *    (HAL_GetTick() instead of board_millis() in a CubeMX project.)
 *
 * What the host sees: the application's own device with a DFU runtime
 * interface (dfu-util -l: "Found Runtime"); after DFU_DETACH it disconnects
 * (WillDetach: dfu-util does not reset it, it waits 5 s), and 0483:df11
 * appears with the same serial number.
 *
 * TinyUSB calls tud_dfu_runtime_reboot_to_dfu_cb() right after queuing the
 * DETACH status stage (class/dfu/dfu_rt_device.c), before the host has it:
 * rebooting there would fail the request. So the callback only notes the
 * time; the main loop leaves 10 ms later. dfuboot_detach_and_reboot()
 * drives D+ low, which disconnects any board, blue pill included; a board
 * with a pull-up switch may also switch it off first.
 */
#include <stdint.h>

#include "dfuboot_app.h"
#include "tusb.h"

static volatile uint32_t detach_pending, detach_at;
static uint32_t now_ms;

void tud_dfu_runtime_reboot_to_dfu_cb(void)
{
    detach_at = now_ms;
    detach_pending = 1;
}

void dfuboot_dfu_rt_task(uint32_t millis, uint32_t cpu_hz)
{
    now_ms = millis;
    if (detach_pending && millis - detach_at >= 10u)
        dfuboot_detach_and_reboot(cpu_hz);
}
