/* Helpers shared by the codec files; not part of the public header. */
#ifndef CCODECS_INTERNAL_H
#define CCODECS_INTERNAL_H

#include "ccodecs.h"

/** Formats `message` (CC_MESSAGE_SIZE bytes) and returns `code`. */
int cc_fail(char *message, int code, const char *format, ...) __attribute__((format(printf, 3, 4)));

/** Stores width/height in `out` and checks them: CC_OK, CC_ERR_DATA for empty, CC_ERR_LIMIT above max_pixels. */
int cc_check_limit(cc_image *out, int64_t width, int64_t height, int64_t max_pixels, char *message);

#endif
