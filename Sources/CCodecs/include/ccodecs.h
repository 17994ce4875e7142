/*
 * CCodecs: memory-to-memory wrappers around libpng, libjpeg-turbo and libwebp.
 *
 * libpng and libjpeg report fatal errors by longjmp. Every setjmp lives in these C
 * functions; callers only ever see a return code and a one-line message. libjpeg's
 * default error_exit calls exit(): it is replaced by one that longjmps back here.
 *
 * Pixel layout everywhere: interleaved, row-major, `channels` samples per pixel,
 * no row padding. Samples are uint8_t, or native-endian uint16_t when bit_depth is 16.
 * channels: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA (alpha straight, not premultiplied).
 */
#ifndef CCODECS_H
#define CCODECS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Return codes. On anything but CC_OK, `message` holds a one-line reason. */
enum {
    CC_OK = 0,
    /** Corrupt, truncated or unsupported data. */
    CC_ERR_DATA = 1,
    /** Header dimensions exceed the caller's pixel limit; width/height of the image are set. */
    CC_ERR_LIMIT = 2,
    /** Allocation failed. */
    CC_ERR_MEMORY = 3,
    /** Invalid arguments (a programmer error on the caller's side). */
    CC_ERR_ARGUMENT = 4,
};

/** Size of the message buffers callers pass in. */
#define CC_MESSAGE_SIZE 256

/** A decoded image. Free with cc_image_free. */
typedef struct cc_image {
    int32_t width;
    int32_t height;
    /** 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA. */
    int32_t channels;
    /** Bits per sample in `pixels`: 8 (uint8_t) or 16 (native-endian uint16_t). */
    int32_t bit_depth;
    /** Bits per sample in the file (1, 2, 4, 8 or 16). */
    int32_t source_bits;
    /** EXIF orientation 1...8 as stored in the file (JPEG); 1 when absent. Not applied. */
    int32_t orientation;
    /** Interleaved samples, malloc'd. */
    void *pixels;
    /** Embedded ICC profile, verbatim, malloc'd; NULL when absent. */
    uint8_t *icc;
    size_t icc_size;
} cc_image;

/** Bytes produced by an encoder. Free with cc_buffer_free. */
typedef struct cc_buffer {
    uint8_t *data;
    size_t size;
} cc_buffer;

void cc_image_free(cc_image *image);
void cc_buffer_free(cc_buffer *buffer);

/*
 * Decoders. `max_pixels` bounds width*height; it is checked against the header before any
 * pixel memory is allocated (CC_ERR_LIMIT, with out->width/height set).
 */

/** PNG: every colour type and bit depth. Palette -> RGB (RGBA with tRNS); tRNS on grey/RGB ->
 *  alpha; 1/2/4-bit grey scaled to 8 bits exactly (v * 255 / (2^bits - 1)); 16-bit kept. */
int cc_png_decode(const uint8_t *data, size_t size, int64_t max_pixels, cc_image *out, char *message);

/** JPEG: baseline and progressive; grey -> 1 channel; YCbCr/RGB -> 3; CMYK/YCCK -> RGB
 *  (Adobe's inverted convention handled). Reports, but does not apply, EXIF orientation. */
int cc_jpeg_decode(const uint8_t *data, size_t size, int64_t max_pixels, cc_image *out, char *message);

/** WebP: lossy and lossless, still images only; 3 channels, or 4 when the file has alpha. */
int cc_webp_decode(const uint8_t *data, size_t size, int64_t max_pixels, cc_image *out, char *message);

/*
 * Encoders. `icc` may be NULL.
 */

/** PNG, 8 or 16-bit, 1-4 channels, with an iCCP chunk when icc is given. */
int cc_png_encode(const void *pixels, int32_t width, int32_t height, int32_t channels, int32_t bit_depth,
                  const uint8_t *icc, size_t icc_size, cc_buffer *out, char *message);

/** JPEG, 8-bit, 1 (grey) or 3 (RGB) channels, IJG tables scaled by `quality` (1...100, baseline),
 *  chroma 4:2:0 when subsample420 != 0 else 4:4:4, optimised Huffman tables, ICC in APP2. */
int cc_jpeg_encode(const uint8_t *pixels, int32_t width, int32_t height, int32_t channels, int32_t quality,
                   int32_t subsample420, const uint8_t *icc, size_t icc_size, cc_buffer *out, char *message);

/** WebP, 8-bit, 3 or 4 channels; lossless (exact, also under transparent pixels) when lossless != 0,
 *  else lossy at `quality` (1...100); ICC in an ICCP chunk. */
int cc_webp_encode(const uint8_t *pixels, int32_t width, int32_t height, int32_t channels, int32_t quality,
                   int32_t lossless, const uint8_t *icc, size_t icc_size, cc_buffer *out, char *message);

/*
 * Row-streaming encoders (stream.c): PNG and JPEG written to a file a band of rows at a time,
 * so that an image never has to exist whole in memory. Same pixel conventions and return codes
 * as above; libpng/libjpeg errors longjmp back to a setjmp in each of these functions.
 */

/** An open streaming encoder. */
typedef struct cc_writer cc_writer;

/** Formats of cc_writer_open. */
enum { CC_STREAM_PNG = 0, CC_STREAM_JPEG = 1 };

/**
 * Creates (or truncates) the file at `path` and writes the header.
 * PNG: 8 or 16 bits, 1-4 channels, iCCP when icc is given (as cc_png_encode).
 * JPEG: 8 bits, 1 or 3 channels, `quality` 1...100, 4:2:0 when subsample420 != 0, optimised
 * Huffman tables, ICC in APP2 (as cc_jpeg_encode; libjpeg buffers coefficients for that).
 * On failure nothing is returned in *out and the caller removes the file.
 */
int cc_writer_open(const char *path, int32_t format, int32_t width, int32_t height, int32_t channels,
                   int32_t bit_depth, int32_t quality, int32_t subsample420, const uint8_t *icc, size_t icc_size,
                   cc_writer **out, char *message);

/** Appends `count` rows. On failure the writer is unusable: call cc_writer_abort. */
int cc_writer_write_rows(cc_writer *writer, const void *rows, int32_t count, char *message);

/** Writes the trailer after the last row, flushes and closes the file, and frees the writer
 *  (also on failure). */
int cc_writer_finish(cc_writer *writer, char *message);

/** Closes the file and frees the writer without finishing (the caller removes the file). */
void cc_writer_abort(cc_writer *writer);

#ifdef __cplusplus
}
#endif
#endif
