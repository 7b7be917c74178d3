// JPEG encoding into memory (test fixtures). See include/stratus_image.h.
#include "stratus_image.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

typedef struct encode_ctx {
    struct jpeg_error_mgr pub;  // must be first
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
    unsigned char *buffer;      // jpeg_mem_dest output, kept across longjmp
    unsigned long size;
} encode_ctx;

static void encode_on_error(j_common_ptr cinfo) {
    encode_ctx *ctx = (encode_ctx *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, ctx->msg);
    longjmp(ctx->jump, 1);
}

static void encode_on_message(j_common_ptr cinfo, int msg_level) {
    (void)cinfo;
    (void)msg_level;  // silence warnings and traces
}

int stratus_image_encode_jpeg(const uint8_t *pixels, uint32_t width, uint32_t height, int components, int quality,
                              int progressive, uint8_t **out, size_t *out_len, char *err, size_t errlen) {
    if (err != NULL && errlen > 0) err[0] = '\0';
    if (out == NULL || out_len == NULL || pixels == NULL || width == 0 || height == 0 || width > 65500 ||
        height > 65500 || (components != 1 && components != 3 && components != 4) || quality < 1 || quality > 100) {
        if (err != NULL && errlen > 0) snprintf(err, errlen, "invalid arguments");
        return STRATUS_IMAGE_EINVAL;
    }
    *out = NULL;
    *out_len = 0;

    struct jpeg_compress_struct cinfo;
    encode_ctx ctx;
    memset(&cinfo, 0, sizeof cinfo);
    memset(&ctx, 0, sizeof ctx);
    cinfo.err = jpeg_std_error(&ctx.pub);
    ctx.pub.error_exit = encode_on_error;
    ctx.pub.emit_message = encode_on_message;
    if (setjmp(ctx.jump)) {
        if (err != NULL && errlen > 0) snprintf(err, errlen, "JPEG encode: %s", ctx.msg);
        jpeg_destroy_compress(&cinfo);
        free(ctx.buffer);
        return STRATUS_IMAGE_ENOMEM;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &ctx.buffer, &ctx.size);
    cinfo.image_width = width;
    cinfo.image_height = height;
    cinfo.input_components = components;
    cinfo.in_color_space = components == 1 ? JCS_GRAYSCALE : components == 3 ? JCS_RGB : JCS_CMYK;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    if (progressive) jpeg_simple_progression(&cinfo);
    jpeg_start_compress(&cinfo, TRUE);
    size_t stride = (size_t)width * (size_t)components;
    while (cinfo.next_scanline < height) {
        JSAMPROW row[1] = {(JSAMPROW)(pixels + (size_t)cinfo.next_scanline * stride)};
        jpeg_write_scanlines(&cinfo, row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *out = ctx.buffer;
    *out_len = ctx.size;
    return STRATUS_IMAGE_OK;
}

void stratus_image_buffer_free(void *buffer) { free(buffer); }
