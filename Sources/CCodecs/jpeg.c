/* JPEG through libjpeg-turbo, memory to memory.
 *
 * libjpeg's default error_exit calls exit(); it is replaced by one that longjmps back to the
 * setjmp in each function here. Corrupt-data warnings are tolerated, as most decoders do,
 * except running out of data (JWRN_JPEG_EOF), which is reported as a truncated file. */
#include "ccodecs.h"
#include "internal.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

typedef struct jpeg_context {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char *message;
    /* Scratch freed on every exit path. */
    uint8_t *row;
    uint8_t *icc;
    unsigned char *out;
    unsigned long out_size;
} jpeg_context;

static void on_error_exit(j_common_ptr cinfo) {
    jpeg_context *ctx = (jpeg_context *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    cc_fail(ctx->message, CC_ERR_DATA, "corrupt JPEG (%s)", text);
    longjmp(ctx->jump, 1);
}

static void on_emit_message(j_common_ptr cinfo, int level) {
    jpeg_context *ctx = (jpeg_context *)cinfo->err;
    if (level < 0) {
        if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
            cc_fail(ctx->message, CC_ERR_DATA, "truncated JPEG (premature end of data)");
            longjmp(ctx->jump, 1);
        }
        cinfo->err->num_warnings++;
    }
}

static void on_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void install_errors(jpeg_context *ctx, char *message) {
    memset(ctx, 0, sizeof *ctx);
    jpeg_std_error(&ctx->pub);
    ctx->pub.error_exit = on_error_exit;
    ctx->pub.emit_message = on_emit_message;
    ctx->pub.output_message = on_output_message;
    ctx->message = message;
}

static unsigned read16(const uint8_t *p, int big) { return big ? (unsigned)(p[0] << 8 | p[1]) : (unsigned)(p[1] << 8 | p[0]); }
static uint32_t read32(const uint8_t *p, int big) {
    return big ? ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3])
               : ((uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]);
}

/** EXIF orientation (tag 0x0112 of IFD0) from an APP1 payload, 1 when absent or malformed. */
static int exif_orientation(const uint8_t *data, size_t size) {
    if (size < 6 + 8 || memcmp(data, "Exif\0\0", 6) != 0) return 1;
    const uint8_t *tiff = data + 6;
    size_t n = size - 6;
    int big;
    if (tiff[0] == 'I' && tiff[1] == 'I') big = 0;
    else if (tiff[0] == 'M' && tiff[1] == 'M') big = 1;
    else return 1;
    if (read16(tiff + 2, big) != 42) return 1;
    uint32_t ifd = read32(tiff + 4, big);
    if (ifd > n || n - ifd < 2) return 1;
    unsigned count = read16(tiff + ifd, big);
    for (unsigned i = 0; i < count; i++) {
        size_t entry = (size_t)ifd + 2 + (size_t)i * 12;
        if (entry + 12 > n) return 1;
        if (read16(tiff + entry, big) == 0x0112) {
            unsigned type = read16(tiff + entry + 2, big);
            unsigned value = type == 3 ? read16(tiff + entry + 8, big) : type == 4 ? read32(tiff + entry + 8, big) : 0;
            return value >= 1 && value <= 8 ? (int)value : 1;
        }
    }
    return 1;
}

int cc_jpeg_decode(const uint8_t *data, size_t size, int64_t max_pixels, cc_image *out, char *message) {
    memset(out, 0, sizeof *out);
    out->orientation = 1;
    if (size < 3 || data[0] != 0xFF || data[1] != 0xD8) return cc_fail(message, CC_ERR_DATA, "not a JPEG file");

    struct jpeg_decompress_struct cinfo;
    jpeg_context ctx;
    jpeg_context *const c = &ctx;
    install_errors(c, message);
    cinfo.err = &c->pub;
    if (setjmp(c->jump)) {
        free(c->row);
        free(c->icc);
        cc_image_free(out);
        jpeg_destroy_decompress(&cinfo);
        return CC_ERR_DATA;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 2, 0xFFFF);
    jpeg_read_header(&cinfo, TRUE);

    int code = cc_check_limit(out, cinfo.image_width, cinfo.image_height, max_pixels, message);
    if (code != CC_OK) {
        jpeg_destroy_decompress(&cinfo);
        return code;
    }
    for (jpeg_saved_marker_ptr m = cinfo.marker_list; m; m = m->next) {
        if (m->marker == JPEG_APP0 + 1) {
            int o = exif_orientation(m->data, m->data_length);
            if (o != 1) {
                out->orientation = o;
                break;
            }
        }
    }
    JOCTET *icc = NULL;
    unsigned int icc_size = 0;
    if (jpeg_read_icc_profile(&cinfo, &icc, &icc_size) && icc && icc_size > 0) {
        out->icc = icc;
        out->icc_size = icc_size;
    } else {
        free(icc);
    }

    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    if (cinfo.jpeg_color_space == JCS_GRAYSCALE) cinfo.out_color_space = JCS_GRAYSCALE;
    else if (cmyk) cinfo.out_color_space = JCS_CMYK;
    else cinfo.out_color_space = JCS_RGB;
    /* Adobe's CMYK JPEGs (Photoshop) store inverted ink values; plain CMYK stores ink directly. */
    int inverted = cmyk && cinfo.saw_Adobe_marker;

    jpeg_start_decompress(&cinfo);
    size_t width = cinfo.output_width, height = cinfo.output_height;
    int channels = cmyk ? 3 : cinfo.output_components;
    if (channels != 1 && channels != 3) {
        cc_fail(message, CC_ERR_DATA, "unsupported JPEG with %d components", cinfo.output_components);
        longjmp(c->jump, 1);
    }
    out->width = (int32_t)width;
    out->height = (int32_t)height;
    out->channels = channels;
    out->bit_depth = 8;
    out->source_bits = 8;
    out->pixels = malloc(width * height * (size_t)channels);
    if (cmyk) c->row = malloc(width * 4);
    if (!out->pixels || (cmyk && !c->row)) {
        cc_fail(message, CC_ERR_MEMORY, "out of memory");
        longjmp(c->jump, 1);
    }
    uint8_t *pixels = out->pixels;
    while (cinfo.output_scanline < cinfo.output_height) {
        size_t y = cinfo.output_scanline;
        JSAMPROW row = cmyk ? c->row : pixels + y * width * (size_t)channels;
        jpeg_read_scanlines(&cinfo, &row, 1);
        if (cmyk) {
            uint8_t *dst = pixels + y * width * 3;
            const uint8_t *src = c->row;
            for (size_t x = 0; x < width; x++, src += 4, dst += 3) {
                unsigned k = inverted ? src[3] : 255u - src[3];
                for (int i = 0; i < 3; i++) {
                    unsigned v = inverted ? src[i] : 255u - src[i];
                    dst[i] = (uint8_t)((v * k + 127) / 255);
                }
            }
        }
    }
    /* Trailing markers after the last scanline are not needed: the pixels are complete. */
    free(c->row);
    jpeg_destroy_decompress(&cinfo);
    return CC_OK;
}

int cc_jpeg_encode(const uint8_t *pixels, int32_t width, int32_t height, int32_t channels, int32_t quality,
                   int32_t subsample420, const uint8_t *icc, size_t icc_size, cc_buffer *out, char *message) {
    out->data = NULL;
    out->size = 0;
    if (width <= 0 || height <= 0 || width > JPEG_MAX_DIMENSION || height > JPEG_MAX_DIMENSION ||
        (channels != 1 && channels != 3) || quality < 1 || quality > 100) {
        return cc_fail(message, CC_ERR_ARGUMENT, "invalid JPEG parameters %dx%d, %d channels, quality %d",
                       width, height, channels, quality);
    }
    struct jpeg_compress_struct cinfo;
    jpeg_context ctx;
    jpeg_context *const c = &ctx;
    install_errors(c, message);
    cinfo.err = &c->pub;
    if (setjmp(c->jump)) {
        jpeg_destroy_compress(&cinfo);
        free(c->out);
        return CC_ERR_DATA;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &c->out, &c->out_size);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = channels;
    cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    if (channels == 3) {
        int f = subsample420 ? 2 : 1;
        cinfo.comp_info[0].h_samp_factor = f;
        cinfo.comp_info[0].v_samp_factor = f;
        for (int i = 1; i < 3; i++) {
            cinfo.comp_info[i].h_samp_factor = 1;
            cinfo.comp_info[i].v_samp_factor = 1;
        }
    }
    cinfo.optimize_coding = TRUE;
    jpeg_start_compress(&cinfo, TRUE);
    if (icc && icc_size > 0) jpeg_write_icc_profile(&cinfo, icc, (unsigned int)icc_size);
    size_t stride = (size_t)width * (size_t)channels;
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)cinfo.next_scanline * stride);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    out->data = c->out;
    out->size = c->out_size;
    return CC_OK;
}
