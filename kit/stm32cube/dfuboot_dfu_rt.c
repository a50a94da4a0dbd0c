/*
 * dfuboot_dfu_rt.c - STM32CubeMX / ST USB device library (a CDC device, the
 * usual "virtual COM port"): `dfu-util -e` and one-command updates for an
 * STM32F103 application behind dfuboot. Add this file to Core/Src and:
 *
 * 1. USB_DEVICE/Target/usbd_conf.h: USBD_MAX_NUM_INTERFACES at least 3
 *    (CDC's two and this one).
 * 2. USB_DEVICE/App/usb_device.c, between the USER CODE markers that
 *    survive regeneration:
 *        USER CODE BEGIN USB_DEVICE_Init_PostTreatment
 *            dfuboot_dfu_rt_attach(&hUsbDeviceFS);
 *    It wraps the generated CDC class: the configuration descriptor gets a
 *    third interface (class 0xFE/1/1 with its DFU functional descriptor),
 *    and class requests to it are answered here; the rest goes to CDC.
 * 3. main.c, in the while (1) loop (USER CODE BEGIN 3):
 *        dfuboot_dfu_rt_task();
 * 4. Serial number: USBD_FS_SerialStrDescriptor (usbd_desc.c) builds it
 *    from the unique ID in another order; for dfu-util -S SERIAL to find the
 *    board in both modes, return dfuboot_serial_string()'s 24 digits
 *    (dfuboot_app.h) instead, between its USER CODE markers if any, or
 *    accept that the two serials differ and match by VID:PID.
 *
 * What the host sees: the COM port device gains a DFU runtime interface
 * (dfu-util -l: "Found Runtime"); after DFU_DETACH it disconnects
 * (bitWillDetach: no host reset) and 0483:df11 appears. D+ is driven low,
 * which disconnects any board, blue pill included.
 * Written against STM32CubeF1's USB device library (USBD_ClassTypeDef with
 * Setup and GetFSConfigDescriptor); not built here: the tested version of
 * the same protocol is app/dfu-runtime/.
 */
#include <string.h>

#include "dfuboot_app.h"
#include "main.h"
#include "usbd_cdc.h"
#include "usbd_ctlreq.h"

#define DFU_RT_IFACE 2u /* CDC has 0 and 1 */

static USBD_ClassTypeDef cdc_dfu_rt;
static uint8_t config_desc[USB_CDC_CONFIG_DESC_SIZ + 18];
static volatile uint32_t detach_pending, detach_at;

static const uint8_t dfu_rt_desc[18] = {
    9, USB_DESC_TYPE_INTERFACE, DFU_RT_IFACE, 0, 0, 0xFE, 1, 1, 0,
    /* functional: bitCanDnload | bitCanUpload | bitWillDetach, 1000 ms,
     * 1024 bytes, DfuSe 1.1a */
    9, 0x21, 0x0B, LOBYTE(1000), HIBYTE(1000), LOBYTE(1024), HIBYTE(1024), 0x1A, 0x01,
};

static uint8_t *dfu_rt_config(uint16_t *length)
{
    uint16_t n;
    uint8_t *cdc = USBD_CDC.GetFSConfigDescriptor(&n);
    memcpy(config_desc, cdc, n);
    memcpy(config_desc + n, dfu_rt_desc, sizeof dfu_rt_desc);
    n += sizeof dfu_rt_desc;
    config_desc[2] = LOBYTE(n); /* wTotalLength */
    config_desc[3] = HIBYTE(n);
    config_desc[4]++;           /* bNumInterfaces */
    *length = n;
    return config_desc;
}

static uint8_t dfu_rt_setup(USBD_HandleTypeDef *pdev, USBD_SetupReqTypedef *req)
{
    static uint8_t status[6]; /* OK, bwPollTimeout 0, appIDLE, iString 0 */
    if ((req->bmRequest & USB_REQ_TYPE_MASK) != USB_REQ_TYPE_CLASS ||
        (req->bmRequest & USB_REQ_RECIPIENT_MASK) != USB_REQ_RECIPIENT_INTERFACE ||
        LOBYTE(req->wIndex) != DFU_RT_IFACE)
        return USBD_CDC.Setup(pdev, req);
    switch (req->bRequest) {
    case 0: /* DFU_DETACH: the library sends the status stage after we return */
        detach_at = HAL_GetTick();
        detach_pending = 1;
        return USBD_OK;
    case 3: /* DFU_GETSTATUS */
        USBD_CtlSendData(pdev, status, 6);
        return USBD_OK;
    case 5: /* DFU_GETSTATE */
        USBD_CtlSendData(pdev, &status[4], 1);
        return USBD_OK;
    default:
        USBD_CtlError(pdev, req);
        return USBD_FAIL;
    }
}

void dfuboot_dfu_rt_attach(USBD_HandleTypeDef *pdev)
{
    cdc_dfu_rt = USBD_CDC;
    cdc_dfu_rt.Setup = dfu_rt_setup;
    cdc_dfu_rt.GetFSConfigDescriptor = dfu_rt_config;
    /* Not configured yet: swap the class before the host enumerates. */
    USBD_Stop(pdev);
    USBD_RegisterClass(pdev, &cdc_dfu_rt);
    USBD_Start(pdev);
}

/* 10 ms after DETACH: the status stage has long gone out. */
void dfuboot_dfu_rt_task(void)
{
    if (detach_pending && HAL_GetTick() - detach_at >= 10u)
        dfuboot_detach_and_reboot(SystemCoreClock);
}
