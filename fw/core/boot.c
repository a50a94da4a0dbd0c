#include "boot.h"

#include "image.h"
#include "memmap.h"
#include "port.h"

enum boot_reason boot_decide(const struct boot_inputs *in, bool strict)
{
    if (in->magic)
        return BOOT_DFU_REQUESTED;
    if (in->pin)
        return BOOT_DFU_PIN;
    if (in->double_reset)
        return BOOT_DFU_DOUBLE;
    const uint32_t *vec = (const uint32_t *)(const void *)port_mem(memmap.app_base);
    return image_valid(vec, strict) ? BOOT_APP : BOOT_DFU_NO_APP;
}
