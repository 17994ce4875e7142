/* Row-streaming PNG and JPEG encoders writing to a FILE. Each public function that calls into
 * libpng or libjpeg sets its own setjmp first: their error handlers longjmp back there. */
#include "ccodecs.h"
#include "internal.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

typedef struct stream_jpeg_error {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char *message;
} stream_jpeg_error;

struct cc_writer {
    int format;
    FILE *file;
    int32_t width, height, channels, bit_depth;
    int32_t rows_written;
    /* PNG */
    png_structp png;
    png_infop info;
    char *png_message;
    /* JPEG */
    struct jpeg_compress_struct cinfo;
    stream_jpeg_error jerr;
    int jpeg_created;
};

static void png_on_error(png_structp png, png_const_charp text) {
    cc_writer *w = (cc_writer *)png_get_error_ptr(png);
    cc_fail(w->png_message, CC_ERR_DATA, "PNG write failed (%s)", text);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

static void jpeg_on_error_exit(j_common_ptr cinfo) {
    stream_jpeg_error *e = (stream_jpeg_error *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    cc_fail(e->message, CC_ERR_DATA, "JPEG write failed (%s)", text);
    longjmp(e->jump, 1);
}

static void jpeg_on_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void writer_free(cc_writer *w) {
    if (!w) return;
    if (w->png) png_destroy_write_struct(&w->png, &w->info);
    if (w->jpeg_created) jpeg_destroy_compress(&w->cinfo);
    if (w->file) fclose(w->file);
    free(w);
}

void cc_writer_abort(cc_writer *writer) { writer_free(writer); }

static int open_png(cc_writer *w, const uint8_t *icc, size_t icc_size, char *message) {
    w->png_message = message;
    w->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, w, png_on_error, png_on_warning);
    if (!w->png) return cc_fail(message, CC_ERR_MEMORY, "out of memory");
    w->info = png_create_info_struct(w->png);
    if (!w->info) return cc_fail(message, CC_ERR_MEMORY, "out of memory");
    if (setjmp(png_jmpbuf(w->png))) return CC_ERR_DATA;
    png_init_io(w->png, w->file);
    png_set_benign_errors(w->png, 1);
#ifdef PNG_SKIP_sRGB_CHECK_PROFILE
    png_set_option(w->png, PNG_SKIP_sRGB_CHECK_PROFILE, PNG_OPTION_ON);
#endif
    static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                 PNG_COLOR_TYPE_RGB_ALPHA};
    png_set_IHDR(w->png, w->info, (png_uint_32)w->width, (png_uint_32)w->height, w->bit_depth, types[w->channels],
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (icc && icc_size > 0) png_set_iCCP(w->png, w->info, "ICC Profile", 0, icc, (png_uint_32)icc_size);
    png_write_info(w->png, w->info);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (w->bit_depth == 16) png_set_swap(w->png);
#endif
    return CC_OK;
}

static int open_jpeg(cc_writer *w, int32_t quality, int32_t subsample420, const uint8_t *icc, size_t icc_size,
                     char *message) {
    memset(&w->jerr, 0, sizeof w->jerr);
    jpeg_std_error(&w->jerr.pub);
    w->jerr.pub.error_exit = jpeg_on_error_exit;
    w->jerr.pub.output_message = jpeg_on_output_message;
    w->jerr.message = message;
    w->cinfo.err = &w->jerr.pub;
    if (setjmp(w->jerr.jump)) return CC_ERR_DATA;
    jpeg_create_compress(&w->cinfo);
    w->jpeg_created = 1;
    jpeg_stdio_dest(&w->cinfo, w->file);
    w->cinfo.image_width = (JDIMENSION)w->width;
    w->cinfo.image_height = (JDIMENSION)w->height;
    w->cinfo.input_components = w->channels;
    w->cinfo.in_color_space = w->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&w->cinfo);
    jpeg_set_quality(&w->cinfo, quality, TRUE);
    if (w->channels == 3) {
        int f = subsample420 ? 2 : 1;
        w->cinfo.comp_info[0].h_samp_factor = f;
        w->cinfo.comp_info[0].v_samp_factor = f;
        for (int i = 1; i < 3; i++) {
            w->cinfo.comp_info[i].h_samp_factor = 1;
            w->cinfo.comp_info[i].v_samp_factor = 1;
        }
    }
    w->cinfo.optimize_coding = TRUE;
    jpeg_start_compress(&w->cinfo, TRUE);
    if (icc && icc_size > 0) jpeg_write_icc_profile(&w->cinfo, icc, (unsigned int)icc_size);
    return CC_OK;
}

int cc_writer_open(const char *path, int32_t format, int32_t width, int32_t height, int32_t channels,
                   int32_t bit_depth, int32_t quality, int32_t subsample420, const uint8_t *icc, size_t icc_size,
                   cc_writer **out, char *message) {
    *out = NULL;
    if (width <= 0 || height <= 0 || channels < 1 || channels > 4 || (bit_depth != 8 && bit_depth != 16) ||
        (format != CC_STREAM_PNG && format != CC_STREAM_JPEG)) {
        return cc_fail(message, CC_ERR_ARGUMENT, "invalid stream parameters: format %d, %dx%d, %d channels, %d bits",
                       format, width, height, channels, bit_depth);
    }
    if (format == CC_STREAM_JPEG &&
        (bit_depth != 8 || (channels != 1 && channels != 3) || quality < 1 || quality > 100 ||
         width > JPEG_MAX_DIMENSION || height > JPEG_MAX_DIMENSION)) {
        return cc_fail(message, CC_ERR_ARGUMENT, "invalid JPEG parameters %dx%d, %d channels, %d bits, quality %d",
                       width, height, channels, bit_depth, quality);
    }
    cc_writer *w = calloc(1, sizeof *w);
    if (!w) return cc_fail(message, CC_ERR_MEMORY, "out of memory");
    w->format = format;
    w->width = width;
    w->height = height;
    w->channels = channels;
    w->bit_depth = bit_depth;
    w->file = fopen(path, "wb");
    if (!w->file) {
        int e = errno;
        writer_free(w);
        return cc_fail(message, CC_ERR_DATA, "cannot create file (%s)", strerror(e));
    }
    int code = format == CC_STREAM_PNG ? open_png(w, icc, icc_size, message)
                                       : open_jpeg(w, quality, subsample420, icc, icc_size, message);
    if (code != CC_OK) {
        writer_free(w);
        return code;
    }
    *out = w;
    return CC_OK;
}

int cc_writer_write_rows(cc_writer *w, const void *rows, int32_t count, char *message) {
    if (count < 0 || w->rows_written + count > w->height) {
        return cc_fail(message, CC_ERR_ARGUMENT, "%d rows after %d exceed the image height %d", count,
                       w->rows_written, w->height);
    }
    size_t row_bytes = (size_t)w->width * (size_t)w->channels * (size_t)(w->bit_depth / 8);
    const uint8_t *p = (const uint8_t *)rows;
    if (w->format == CC_STREAM_PNG) {
        w->png_message = message;
        if (setjmp(png_jmpbuf(w->png))) return CC_ERR_DATA;
        for (int32_t r = 0; r < count; r++) png_write_row(w->png, (png_const_bytep)(p + row_bytes * (size_t)r));
    } else {
        w->jerr.message = message;
        if (setjmp(w->jerr.jump)) return CC_ERR_DATA;
        for (int32_t r = 0; r < count; r++) {
            JSAMPROW row = (JSAMPROW)(p + row_bytes * (size_t)r);
            jpeg_write_scanlines(&w->cinfo, &row, 1);
        }
    }
    w->rows_written += count;
    return CC_OK;
}

int cc_writer_finish(cc_writer *w, char *message) {
    if (w->rows_written != w->height) {
        int32_t got = w->rows_written, want = w->height;
        writer_free(w);
        return cc_fail(message, CC_ERR_ARGUMENT, "only %d of %d rows written", got, want);
    }
    if (w->format == CC_STREAM_PNG) {
        w->png_message = message;
        if (setjmp(png_jmpbuf(w->png))) {
            writer_free(w);
            return CC_ERR_DATA;
        }
        png_write_end(w->png, w->info);
    } else {
        w->jerr.message = message;
        if (setjmp(w->jerr.jump)) {
            writer_free(w);
            return CC_ERR_DATA;
        }
        jpeg_finish_compress(&w->cinfo);
    }
    FILE *f = w->file;
    w->file = NULL;
    int failed = fflush(f) != 0 || ferror(f);
    int e = errno;
    if (fclose(f) != 0 && !failed) {
        failed = 1;
        e = errno;
    }
    writer_free(w);
    if (failed) return cc_fail(message, CC_ERR_DATA, "write failed (%s)", strerror(e));
    return CC_OK;
}
