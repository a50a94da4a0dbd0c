/* image.h - may the application start? (vector plausibility + ABI stamp) */
#ifndef IMAGE_H
#define IMAGE_H

#include <stdbool.h>
#include <stdint.h>

/* vec: the application's vector table as it sits in flash at memmap.app_base. */
bool image_plausible(const uint32_t *vec);
bool image_valid(const uint32_t *vec, bool strict);

#endif
