/*
 * reg.h - small helpers the models share for 8/16/32-bit accesses to
 * 32-bit registers (an access of size s at offset off touches the bytes
 * off..off+s-1 of the word at off & ~3).
 */
#ifndef VB_REG_H
#define VB_REG_H

#include <stdint.h>

static inline uint32_t reg_get(uint32_t word, uint32_t off, unsigned size)
{
    uint32_t v = word >> (8 * (off & 3));
    return size >= 4 ? v : v & ((1u << (8 * size)) - 1);
}

/* The word after writing value at off: bytes not written keep old. */
static inline uint32_t reg_put(uint32_t old, uint32_t off, uint32_t value, unsigned size)
{
    if (size >= 4)
        return value;
    uint32_t shift = 8 * (off & 3), mask = ((1u << (8 * size)) - 1) << shift;
    return (old & ~mask) | ((value << shift) & mask);
}

/* Bits of the word actually written by this access. */
static inline uint32_t reg_mask(uint32_t off, unsigned size)
{
    return size >= 4 ? 0xFFFFFFFFu : ((1u << (8 * size)) - 1) << (8 * (off & 3));
}

#endif
