#include "ccodecs.h"
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void cc_image_free(cc_image *image) {
    if (!image) return;
    free(image->pixels);
    free(image->icc);
    image->pixels = NULL;
    image->icc = NULL;
    image->icc_size = 0;
}

void cc_buffer_free(cc_buffer *buffer) {
    if (!buffer) return;
    free(buffer->data);
    buffer->data = NULL;
    buffer->size = 0;
}

int cc_fail(char *message, int code, const char *format, ...) {
    if (message) {
        va_list args;
        va_start(args, format);
        vsnprintf(message, CC_MESSAGE_SIZE, format, args);
        va_end(args);
    }
    return code;
}

int cc_check_limit(cc_image *out, int64_t width, int64_t height, int64_t max_pixels, char *message) {
    out->width = (int32_t)width;
    out->height = (int32_t)height;
    if (width <= 0 || height <= 0) return cc_fail(message, CC_ERR_DATA, "image has no pixels (%lldx%lld)", (long long)width, (long long)height);
    if (width * height > max_pixels) return cc_fail(message, CC_ERR_LIMIT, "image too large");
    return CC_OK;
}
