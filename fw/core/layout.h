/* layout.h - the DfuSe memory layout string (the interface's name). */
#ifndef LAYOUT_H
#define LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

#define LAYOUT_MAX 64

/* Writes e.g. "@Internal Flash  /0x08000000/8*001Ka,120*001Kg" for the
 * current memmap; returns its length. */
unsigned layout_string(char out[LAYOUT_MAX], bool readable);

/* The low digits hex digits of v, upper case, most significant first (as
 * ST's layouts spell addresses; the serial number too); returns the end. */
char *put_hex(char *p, uint32_t v, unsigned digits);

#endif
