/*
 * topology.c - where a device is: bus (1 + server index), address (the
 * server's devnum), port path (from the busid), speed. There is no hub above
 * it that libusb could return.
 */
#include <string.h>

#include "internal.h"

API uint8_t libusb_get_bus_number(libusb_device *dev) { return dev->bus_number; }

API uint8_t libusb_get_device_address(libusb_device *dev) { return (uint8_t)dev->info.devnum; }

API uint8_t libusb_get_port_number(libusb_device *dev) { return dev->ports[dev->nports - 1]; }

API int libusb_get_port_numbers(libusb_device *dev, uint8_t *ports, int len)
{
    if (len <= 0)
        return LIBUSB_ERROR_INVALID_PARAM;
    if (len < dev->nports)
        return LIBUSB_ERROR_OVERFLOW;
    memcpy(ports, dev->ports, (size_t)dev->nports);
    return dev->nports;
}

API int libusb_get_port_path(libusb_context *ctx, libusb_device *dev, uint8_t *path,
                             uint8_t len)
{
    (void)ctx;
    return libusb_get_port_numbers(dev, path, len);
}

/* The virtual root hub is not a device of the list. */
API libusb_device *libusb_get_parent(libusb_device *dev)
{
    (void)dev;
    return NULL;
}

API int libusb_get_device_speed(libusb_device *dev)
{
    /* enum usb_device_speed of Linux, as USB/IP carries it. */
    switch (dev->info.speed) {
    case 1: return LIBUSB_SPEED_LOW;
    case 2: return LIBUSB_SPEED_FULL;
    case 3: return LIBUSB_SPEED_HIGH;
    case 5: return LIBUSB_SPEED_SUPER;
    case 6: return LIBUSB_SPEED_SUPER_PLUS;
    default: return LIBUSB_SPEED_UNKNOWN;
    }
}
