/*
 * dfuse_file.h - ST DfuSe files (.dfu) for the dfuboot bootloader: one
 * target for alternate setting 0, its elements inside the application
 * region, and the standard DFU suffix.
 *
 * Layout (all numbers little-endian), from ST UM0391 "DfuSe File Format"
 * and DFU 1.1 appendix B; the field names are UM0391's:
 *   DfuSe prefix, 11 bytes: szSignature "DfuSe", bVersion 1,
 *       DFUImageSize (u32, the length of the whole file, suffix included,
 *       as dfu-util's dfuse-pack writes it), bTargets (u8)
 *   per target, a 274-byte prefix: szSignature "Target",
 *       bAlternateSetting (u8), bTargetNamed (u32), szTargetName[255],
 *       dwTargetSize (u32, its elements with their headers),
 *       dwNbElements (u32); then the elements, each dwElementAddress (u32),
 *       dwElementSize (u32) and that many bytes
 *   DFU suffix, 16 bytes: bcdDevice, idProduct, idVendor, bcdDFU (u16
 *       each; 0x011A for DfuSe), ucDfuSignature "UFD", bLength 16, dwCRC
 *       (u32): the CRC-32 of every byte before it (reflected polynomial
 *       0xEDB88320, initial value 0xFFFFFFFF, no final XOR).
 * dfu-util reads this format (src/dfuse.c) when -D gets a file whose
 * suffix says bcdDFU 0x011A and -s gives no address.
 */
#ifndef DFUSE_FILE_H
#define DFUSE_FILE_H

#include <stddef.h>
#include <stdint.h>

#define DFUSE_PREFIX_LEN 11u
#define DFUSE_TARGET_PREFIX_LEN 274u
#define DFUSE_ELEMENT_HEADER_LEN 8u
#define DFUSE_SUFFIX_LEN 16u
#define DFUSE_BCD_DFU 0x011Au
#define DFUSE_TARGET_NAME "dfuboot"
/* The smallest file this tool writes or reads: one target, one element. */
#define DFUSE_MIN_FILE_LEN (DFUSE_PREFIX_LEN + DFUSE_TARGET_PREFIX_LEN + \
                            DFUSE_ELEMENT_HEADER_LEN + DFUSE_SUFFIX_LEN)

/* What a file is for: the bootloader's USB IDs and application region. */
struct dfuse_target {
    uint16_t vid, pid;
    uint32_t base;      /* APP_BASE */
    uint32_t flash_end; /* first address past the flash */
};

/* What a valid file holds (read back by dfuse_file_read). */
struct dfuse_info {
    uint16_t vid, pid, bcd_device;
    uint32_t crc;        /* dwCRC */
    unsigned elements;
    uint32_t address;    /* of the element at the lowest address */
    uint32_t size;       /* its size */
    size_t offset;       /* where its data starts in the file */
};

/* The DFU suffix CRC over len bytes, continuing from crc (start with
 * 0xFFFFFFFF; the result is stored as is, not complemented). */
uint32_t dfuse_crc32(uint32_t crc, const uint8_t *p, size_t len);

/* Bytes needed for a file holding one image of len bytes. */
size_t dfuse_file_len(size_t image_len);

/* Writes a file with one element (image at t->base) into out, which has
 * room for dfuse_file_len(len) bytes. Returns that length. */
size_t dfuse_file_write(uint8_t *out, const uint8_t *image, size_t len,
                        const struct dfuse_target *t);

/*
 * Checks a file for this bootloader: the suffix (signature, length, CRC,
 * bcdDFU, and the USB IDs of t), the prefix, one target for alternate
 * setting 0, every element inside [t->base, t->flash_end), sizes that add
 * up to the file's length. Returns 0 with info filled in, or -1 with a
 * message saying what is wrong.
 */
int dfuse_file_read(const uint8_t *file, size_t len, const struct dfuse_target *t,
                    struct dfuse_info *info, char *msg, size_t msgsize);

#endif
