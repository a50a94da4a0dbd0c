#include "layout.h"

#include "memmap.h"
#include "port.h"

static char *put_text(char *p, const char *s)
{
    while (*s)
        *p++ = *s++;
    return p;
}

static char *put_dec(char *p, uint32_t v)
{
    char tmp[10];
    unsigned n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

/* "<pages>*00<1|2>K<type>": pages are 1 or 2 KiB on the F103. */
static char *put_segment(char *p, uint32_t bytes, char type)
{
    p = put_dec(p, bytes / memmap.page_size);
    *p++ = '*'; /* "*00": stored as a string it costs 8 bytes more */
    *p++ = '0';
    *p++ = '0';
    *p++ = (char)('0' + memmap.page_size / 1024u);
    *p++ = 'K';
    *p++ = type;
    return p;
}

char *put_hex(char *p, uint32_t v, unsigned digits)
{
    while (digits--) {
        unsigned nibble = v >> 4 * digits & 15u;
        *p++ = (char)(nibble < 10 ? '0' + nibble : 'A' - 10 + nibble);
    }
    return p;
}

/* dfu-util keeps only the low three bits of the type letter (1 readable,
 * 2 erasable, 4 writeable); UM0424 defines the letters a..g only. So a
 * region with no access at all (the bootloader when nothing may be read)
 * has no letter: it is left out and the layout starts at the application,
 * 'f' = erase + write without read-back. */
unsigned layout_string(char out[LAYOUT_MAX], bool readable)
{
    char *p = put_text(out, "@Internal Flash  /0x");
    p = put_hex(p, readable ? FLASH_BASE_ADDR : memmap.app_base, 8);
    *p++ = '/';
    if (readable) {
        p = put_segment(p, memmap.app_base - FLASH_BASE_ADDR, 'a');
        *p++ = ',';
    }
    p = put_segment(p, memmap.flash_end - memmap.app_base, readable ? 'g' : 'f');
    *p = 0;
    return (unsigned)(p - out);
}
