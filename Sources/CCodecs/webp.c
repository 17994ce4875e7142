/* WebP through libwebp (decode, encode) and libwebpmux/libwebpdemux (ICCP chunk). No longjmp here. */
#include "ccodecs.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include <webp/decode.h>
#include <webp/demux.h>
#include <webp/encode.h>
#include <webp/mux.h>

int cc_webp_decode(const uint8_t *data, size_t size, int64_t max_pixels, cc_image *out, char *message) {
    memset(out, 0, sizeof *out);
    out->orientation = 1;
    WebPBitstreamFeatures features;
    VP8StatusCode status = WebPGetFeatures(data, size, &features);
    if (status == VP8_STATUS_NOT_ENOUGH_DATA) return cc_fail(message, CC_ERR_DATA, "truncated WebP (unexpected end of data)");
    if (status != VP8_STATUS_OK) return cc_fail(message, CC_ERR_DATA, "corrupt WebP (bad header, status %d)", (int)status);
    if (features.has_animation) return cc_fail(message, CC_ERR_DATA, "animated WebP is not supported");
    int code = cc_check_limit(out, features.width, features.height, max_pixels, message);
    if (code != CC_OK) return code;

    int channels = features.has_alpha ? 4 : 3;
    size_t stride = (size_t)features.width * (size_t)channels;
    size_t bytes = stride * (size_t)features.height;
    out->pixels = malloc(bytes);
    if (!out->pixels) return cc_fail(message, CC_ERR_MEMORY, "out of memory");
    uint8_t *ok = features.has_alpha
                      ? WebPDecodeRGBAInto(data, size, out->pixels, bytes, (int)stride)
                      : WebPDecodeRGBInto(data, size, out->pixels, bytes, (int)stride);
    if (!ok) {
        cc_image_free(out);
        return cc_fail(message, CC_ERR_DATA, "corrupt or truncated WebP (image data could not be decoded)");
    }
    out->channels = channels;
    out->bit_depth = 8;
    out->source_bits = 8;

    WebPData whole = {data, size};
    WebPDemuxer *demux = WebPDemux(&whole);
    if (demux) {
        if (WebPDemuxGetI(demux, WEBP_FF_FORMAT_FLAGS) & ICCP_FLAG) {
            WebPChunkIterator chunk;
            if (WebPDemuxGetChunk(demux, "ICCP", 1, &chunk)) {
                if (chunk.chunk.size > 0) {
                    out->icc = malloc(chunk.chunk.size);
                    if (out->icc) {
                        memcpy(out->icc, chunk.chunk.bytes, chunk.chunk.size);
                        out->icc_size = chunk.chunk.size;
                    }
                }
                WebPDemuxReleaseChunkIterator(&chunk);
            }
        }
        WebPDemuxDelete(demux);
    }
    return CC_OK;
}

static const char *encoding_error(WebPEncodingError e) {
    switch (e) {
    case VP8_ENC_ERROR_OUT_OF_MEMORY: return "out of memory";
    case VP8_ENC_ERROR_BITSTREAM_OUT_OF_MEMORY: return "out of memory for the bitstream";
    case VP8_ENC_ERROR_BAD_DIMENSION: return "bad dimension (WebP allows at most 16383x16383)";
    case VP8_ENC_ERROR_PARTITION0_OVERFLOW: return "partition 0 overflow";
    case VP8_ENC_ERROR_PARTITION_OVERFLOW: return "partition overflow";
    case VP8_ENC_ERROR_BAD_WRITE: return "write failed";
    case VP8_ENC_ERROR_FILE_TOO_BIG: return "file too big";
    default: return "encoder error";
    }
}

int cc_webp_encode(const uint8_t *pixels, int32_t width, int32_t height, int32_t channels, int32_t quality,
                   int32_t lossless, const uint8_t *icc, size_t icc_size, cc_buffer *out, char *message) {
    out->data = NULL;
    out->size = 0;
    if (width <= 0 || height <= 0 || (channels != 3 && channels != 4) || quality < 1 || quality > 100) {
        return cc_fail(message, CC_ERR_ARGUMENT, "invalid WebP parameters %dx%d, %d channels, quality %d",
                       width, height, channels, quality);
    }
    if (width > WEBP_MAX_DIMENSION || height > WEBP_MAX_DIMENSION) {
        return cc_fail(message, CC_ERR_ARGUMENT, "image is %dx%d; WebP allows at most %dx%d", width, height,
                       WEBP_MAX_DIMENSION, WEBP_MAX_DIMENSION);
    }
    WebPConfig config;
    if (!WebPConfigInit(&config)) return cc_fail(message, CC_ERR_ARGUMENT, "libwebp version mismatch");
    if (lossless) {
        WebPConfigLosslessPreset(&config, 6);
        config.exact = 1; /* keep RGB under alpha = 0 */
    } else {
        config.quality = (float)quality;
        config.method = 4;
    }
    WebPPicture picture;
    if (!WebPPictureInit(&picture)) return cc_fail(message, CC_ERR_ARGUMENT, "libwebp version mismatch");
    picture.use_argb = lossless ? 1 : 0;
    picture.width = width;
    picture.height = height;
    int imported = channels == 4 ? WebPPictureImportRGBA(&picture, pixels, width * 4)
                                 : WebPPictureImportRGB(&picture, pixels, width * 3);
    if (!imported) {
        WebPPictureFree(&picture);
        return cc_fail(message, CC_ERR_MEMORY, "out of memory");
    }
    WebPMemoryWriter writer;
    WebPMemoryWriterInit(&writer);
    picture.writer = WebPMemoryWrite;
    picture.custom_ptr = &writer;
    int ok = WebPEncode(&config, &picture);
    WebPEncodingError error = picture.error_code;
    WebPPictureFree(&picture);
    if (!ok) {
        WebPMemoryWriterClear(&writer);
        return cc_fail(message, CC_ERR_DATA, "WebP encoding failed (%s)", encoding_error(error));
    }
    if (!icc || icc_size == 0) {
        out->data = writer.mem;
        out->size = writer.size;
        return CC_OK;
    }
    /* Wrap the bitstream in a VP8X container with an ICCP chunk. */
    WebPMux *mux = WebPMuxNew();
    WebPData image = {writer.mem, writer.size};
    WebPData profile = {icc, icc_size};
    WebPData assembled = {NULL, 0};
    WebPMuxError merr = mux ? WebPMuxSetImage(mux, &image, 0) : WEBP_MUX_MEMORY_ERROR;
    if (merr == WEBP_MUX_OK) merr = WebPMuxSetChunk(mux, "ICCP", &profile, 0);
    if (merr == WEBP_MUX_OK) merr = WebPMuxAssemble(mux, &assembled);
    WebPMuxDelete(mux);
    WebPMemoryWriterClear(&writer);
    if (merr != WEBP_MUX_OK) {
        WebPDataClear(&assembled);
        return cc_fail(message, CC_ERR_DATA, "WebP container assembly failed (mux error %d)", (int)merr);
    }
    /* WebPData memory comes from WebPMalloc, which is malloc: cc_buffer_free's free() releases it. */
    out->data = (uint8_t *)assembled.bytes;
    out->size = assembled.size;
    return CC_OK;
}
