/* afio.c - AFIO register file, RM0008 9.4. */
#include "afio.h"

#include "reg.h"

#include <stdlib.h>

struct afio {
    struct vb *vb;
    uint32_t reg[8]; /* EVCR MAPR EXTICR1..4 (reserved) MAPR2 */
};

static const uint32_t writable[8] = {0xFF, 0x071FFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0, 0x7E0};

static uint32_t afio_read(void *model, uint32_t off, unsigned size)
{
    struct afio *a = model;
    if (!vb_clock_enabled(a->vb, VB_CLK_AFIO)) {
        vb_violation(a->vb, "afio", "RM0008 7.3.7 AFIOEN", "AFIO read at 0x%02x with its clock off", off);
        return 0;
    }
    unsigned i = (off & 0x1F) / 4;
    if (off >= 0x20 || i == 6) {
        vb_violation(a->vb, "afio", "RM0008 9.5", "read of reserved AFIO offset 0x%02x", off);
        return 0;
    }
    uint32_t v = a->reg[i];
    if (i == 1)
        v &= ~0x07000000u; /* SWJ_CFG is write-only (9.4.2) */
    return reg_get(v, off, size);
}

static void afio_write(void *model, uint32_t off, uint32_t value, unsigned size)
{
    struct afio *a = model;
    if (!vb_clock_enabled(a->vb, VB_CLK_AFIO)) {
        vb_violation(a->vb, "afio", "RM0008 7.3.7 AFIOEN", "AFIO write at 0x%02x with its clock off", off);
        return;
    }
    unsigned i = (off & 0x1F) / 4;
    if (off >= 0x20 || i == 6) {
        vb_violation(a->vb, "afio", "RM0008 9.5", "write of reserved AFIO offset 0x%02x", off);
        return;
    }
    a->reg[i] = reg_put(a->reg[i], off, value, size) & writable[i];
}

struct afio *afio_new(struct vb *vb)
{
    struct afio *a = calloc(1, sizeof *a);
    a->vb = vb;
    vb_mmio(vb, "AFIO", 0x40010000, 0x400, afio_read, afio_write, a);
    return a;
}

void afio_reset(struct afio *a)
{
    for (int i = 0; i < 8; i++)
        a->reg[i] = 0;
}

void afio_free(struct afio *a) { free(a); }
