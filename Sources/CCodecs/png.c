/* PNG through libpng 1.6, memory to memory. libpng errors longjmp back to the setjmp here. */
#include "ccodecs.h"
#include "internal.h"

#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

typedef struct png_context {
    const uint8_t *data;
    size_t size;
    size_t pos;
    char *message;
    int truncated;
    /* Row pointers, freed on every exit path. */
    png_bytep *rows;
    /* Encoder output. */
    uint8_t *out;
    size_t out_size;
    size_t out_capacity;
    int out_failed;
} png_context;

static void on_error(png_structp png, png_const_charp text) {
    png_context *ctx = (png_context *)png_get_error_ptr(png);
    if (ctx->truncated) {
        cc_fail(ctx->message, CC_ERR_DATA, "truncated PNG (unexpected end of data)");
    } else {
        cc_fail(ctx->message, CC_ERR_DATA, "corrupt PNG (%s)", text);
    }
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text; /* Warnings (bad ancillary chunks, an invalid ICC profile dropped) are not fatal. */
}

static void read_bytes(png_structp png, png_bytep dest, png_size_t length) {
    png_context *ctx = (png_context *)png_get_io_ptr(png);
    if (length > ctx->size - ctx->pos) {
        ctx->truncated = 1;
        png_error(png, "unexpected end of data");
    }
    memcpy(dest, ctx->data + ctx->pos, length);
    ctx->pos += length;
}

int cc_png_decode(const uint8_t *data, size_t size, int64_t max_pixels, cc_image *out, char *message) {
    memset(out, 0, sizeof *out);
    out->orientation = 1;
    if (size < 8 || png_sig_cmp(data, 0, 8) != 0) return cc_fail(message, CC_ERR_DATA, "not a PNG file");

    png_context ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.data = data;
    ctx.size = size;
    ctx.message = message;
    png_context *const c = &ctx;

    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, c, on_error, on_warning);
    if (!png) return cc_fail(message, CC_ERR_MEMORY, "out of memory");
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return cc_fail(message, CC_ERR_MEMORY, "out of memory");
    }
    int code = CC_OK;
    if (setjmp(png_jmpbuf(png))) {
        /* message was set by on_error */
        free(c->rows);
        cc_image_free(out);
        png_destroy_read_struct(&png, &info, NULL);
        return CC_ERR_DATA;
    }
    png_set_read_fn(png, c, read_bytes);
    png_read_info(png, info);

    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(png, info, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);
    code = cc_check_limit(out, width, height, max_pixels, message);
    if (code != CC_OK) {
        png_destroy_read_struct(&png, &info, NULL);
        return code;
    }
    out->source_bits = color_type == PNG_COLOR_TYPE_PALETTE ? 8 : bit_depth;

    png_charp icc_name = NULL;
    int icc_compression = 0;
    png_bytep icc = NULL;
    png_uint_32 icc_size = 0;
    if (png_get_iCCP(png, info, &icc_name, &icc_compression, &icc, &icc_size) && icc && icc_size > 0) {
        out->icc = malloc(icc_size);
        if (!out->icc) png_error(png, "out of memory");
        memcpy(out->icc, icc, icc_size);
        out->icc_size = icc_size;
    }

    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (bit_depth == 16) png_set_swap(png);
#endif
    if (interlace != PNG_INTERLACE_NONE) png_set_interlace_handling(png);
    png_read_update_info(png, info);

    int channels = png_get_channels(png, info);
    int depth = png_get_bit_depth(png, info);
    size_t row_bytes = png_get_rowbytes(png, info);
    if (channels < 1 || channels > 4 || (depth != 8 && depth != 16) ||
        row_bytes != (size_t)width * (size_t)channels * (size_t)(depth / 8)) {
        png_error(png, "unexpected layout after transformations");
    }
    out->channels = channels;
    out->bit_depth = depth;
    out->pixels = malloc(row_bytes * height);
    c->rows = malloc(sizeof(png_bytep) * height);
    if (!out->pixels || !c->rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < height; y++) c->rows[y] = (png_bytep)out->pixels + row_bytes * y;
    png_read_image(png, c->rows);
    /* The end of the file (IEND, trailing text chunks) is not read: the pixels are complete. */

    free(c->rows);
    c->rows = NULL;
    png_destroy_read_struct(&png, &info, NULL);
    return CC_OK;
}

static void write_bytes(png_structp png, png_bytep src, png_size_t length) {
    png_context *ctx = (png_context *)png_get_io_ptr(png);
    if (ctx->out_size + length > ctx->out_capacity) {
        size_t capacity = ctx->out_capacity ? ctx->out_capacity : 65536;
        while (capacity < ctx->out_size + length) capacity *= 2;
        uint8_t *grown = realloc(ctx->out, capacity);
        if (!grown) {
            ctx->out_failed = 1;
            png_error(png, "out of memory");
        }
        ctx->out = grown;
        ctx->out_capacity = capacity;
    }
    memcpy(ctx->out + ctx->out_size, src, length);
    ctx->out_size += length;
}

static void flush_bytes(png_structp png) { (void)png; }

int cc_png_encode(const void *pixels, int32_t width, int32_t height, int32_t channels, int32_t bit_depth,
                  const uint8_t *icc, size_t icc_size, cc_buffer *out, char *message) {
    out->data = NULL;
    out->size = 0;
    if (width <= 0 || height <= 0 || channels < 1 || channels > 4 || (bit_depth != 8 && bit_depth != 16)) {
        return cc_fail(message, CC_ERR_ARGUMENT, "invalid PNG parameters %dx%d, %d channels, %d bits",
                       width, height, channels, bit_depth);
    }
    png_context ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.message = message;
    png_context *const c = &ctx;

    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, c, on_error, on_warning);
    if (!png) return cc_fail(message, CC_ERR_MEMORY, "out of memory");
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return cc_fail(message, CC_ERR_MEMORY, "out of memory");
    }
    if (setjmp(png_jmpbuf(png))) {
        int code = c->out_failed ? CC_ERR_MEMORY : CC_ERR_DATA;
        free(c->rows);
        free(c->out);
        png_destroy_write_struct(&png, &info);
        return code;
    }
    png_set_write_fn(png, c, write_bytes, flush_bytes);
    /* An ICC profile libpng finds invalid is dropped with a warning rather than failing the write. */
    png_set_benign_errors(png, 1);
#ifdef PNG_SKIP_sRGB_CHECK_PROFILE
    png_set_option(png, PNG_SKIP_sRGB_CHECK_PROFILE, PNG_OPTION_ON);
#endif
    static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                 PNG_COLOR_TYPE_RGB_ALPHA};
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, bit_depth, types[channels],
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (icc && icc_size > 0) png_set_iCCP(png, info, "ICC Profile", 0, icc, (png_uint_32)icc_size);
    png_write_info(png, info);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (bit_depth == 16) png_set_swap(png);
#endif
    size_t row_bytes = (size_t)width * (size_t)channels * (size_t)(bit_depth / 8);
    c->rows = malloc(sizeof(png_bytep) * (size_t)height);
    if (!c->rows) {
        c->out_failed = 1;
        png_error(png, "out of memory");
    }
    for (int32_t y = 0; y < height; y++) c->rows[y] = (png_bytep)pixels + row_bytes * (size_t)y;
    png_write_image(png, c->rows);
    png_write_end(png, info);

    free(c->rows);
    png_destroy_write_struct(&png, &info);
    out->data = c->out;
    out->size = c->out_size;
    return CC_OK;
}
