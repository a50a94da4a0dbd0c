#include "crc32_soft.h"

uint32_t crc32_soft(uint32_t state, const uint32_t *words, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        state ^= words[i];
        for (int bit = 0; bit < 32; bit++)
            state = (state & 0x80000000u) ? (state << 1) ^ 0x04C11DB7u : state << 1;
    }
    return state;
}
