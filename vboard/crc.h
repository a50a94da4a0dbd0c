/* crc.h - CRC calculation unit (RM0008 chapter 4) at 0x40023000. */
#ifndef VB_CRC_H
#define VB_CRC_H

#include "vb.h"

struct crc;

struct crc *crc_new(struct vb *vb);
void crc_reset(struct crc *c);
void crc_free(struct crc *c);
/* One step of the unit: CRC-32, poly 0x04C11DB7, MSB first, no reflection. */
uint32_t crc_step(uint32_t crc, uint32_t word);

#endif
