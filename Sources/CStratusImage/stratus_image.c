// Image decoding (libjpeg-turbo, libpng) and tensor preparation.
// See include/stratus_image.h for the contract of each function.
#include "stratus_image.h"

#include <math.h>  // isfinite (a macro; no libm needed)
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

// MARK: - Messages

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...) {
    if (err == NULL || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int fail(int code, char *err, size_t errlen, const char *msg) {
    set_err(err, errlen, "%s", msg);
    return code;
}

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

static int sniff(const uint8_t *data, size_t len) {
    if (len >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return STRATUS_IMAGE_FORMAT_JPEG;
    if (len >= 8 && memcmp(data, png_signature, 8) == 0) return STRATUS_IMAGE_FORMAT_PNG;
    return STRATUS_IMAGE_FORMAT_UNKNOWN;
}

/// width * height > max_pixels, or too big to address as RGB bytes.
static int exceeds(uint32_t width, uint32_t height, uint64_t max_pixels) {
    uint64_t pixels = (uint64_t)width * (uint64_t)height;
    return pixels > max_pixels || pixels > SIZE_MAX / 4;
}

static int too_large(uint32_t width, uint32_t height, uint64_t max_pixels, char *err, size_t errlen) {
    set_err(err, errlen, "image is %ux%u (%llu pixels), larger than the limit of %llu pixels", width, height,
            (unsigned long long)width * height, (unsigned long long)max_pixels);
    return STRATUS_IMAGE_ETOOLARGE;
}

// MARK: - JPEG

typedef struct jpeg_ctx {
    struct jpeg_error_mgr pub;  // must be first: cinfo->err points here
    jmp_buf jump;
    int status;                 // returned after longjmp
    char msg[JMSG_LENGTH_MAX];  // last error or tolerated warning
    struct jpeg_progress_mgr progress;
    // Owned allocations, released on every exit path (kept here, not in
    // locals, so their values survive longjmp).
    uint8_t *pixels;
    uint8_t *cmyk_row;
} jpeg_ctx;

static int jpeg_unsupported_code(int code) {
    switch (code) {
    case JERR_BAD_PRECISION:
    case JERR_SOF_UNSUPPORTED:
    case JERR_ARITH_NOTIMPL:
    case JERR_CONVERSION_NOTIMPL:
    case JERR_NOTIMPL:
    case JERR_CCIR601_NOTIMPL:
    case JERR_FRACT_SAMPLE_NOTIMPL:
        return 1;
    default:
        return 0;
    }
}

static void jpeg_on_error(j_common_ptr cinfo) {
    jpeg_ctx *ctx = (jpeg_ctx *)cinfo->err;
    int code = cinfo->err->msg_code;
    (*cinfo->err->format_message)(cinfo, ctx->msg);
    if (code == JERR_OUT_OF_MEMORY) {
        ctx->status = STRATUS_IMAGE_ENOMEM;
    } else if (jpeg_unsupported_code(code)) {
        ctx->status = STRATUS_IMAGE_EUNSUPPORTED;
    } else {
        ctx->status = STRATUS_IMAGE_ECORRUPT;
    }
    longjmp(ctx->jump, 1);
}

/// Warnings that mean the pixels would be partly invented (grey fill after a
/// truncation, garbage after a bad code): treated as errors.
static int jpeg_fatal_warning(int code) {
    switch (code) {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_ARITH_BAD_CODE:
    case JWRN_MUST_RESYNC:
        return 1;
    default:
        return 0;
    }
}

static void jpeg_on_message(j_common_ptr cinfo, int msg_level) {
    if (msg_level >= 0) return;  // trace messages: ignore
    jpeg_ctx *ctx = (jpeg_ctx *)cinfo->err;
    cinfo->err->num_warnings++;
    (*cinfo->err->format_message)(cinfo, ctx->msg);
    if (jpeg_fatal_warning(cinfo->err->msg_code)) {
        ctx->status = STRATUS_IMAGE_ECORRUPT;
        longjmp(ctx->jump, 1);
    }
}

static void jpeg_on_output(j_common_ptr cinfo) {
    // Never print; keep the text in case the caller wants it.
    jpeg_ctx *ctx = (jpeg_ctx *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, ctx->msg);
}

static void jpeg_on_progress(j_common_ptr cinfo) {
    if (!cinfo->is_decompressor) return;
    j_decompress_ptr dinfo = (j_decompress_ptr)cinfo;
    if (dinfo->input_scan_number > STRATUS_IMAGE_MAX_JPEG_SCANS) {
        jpeg_ctx *ctx = (jpeg_ctx *)cinfo->err;
        snprintf(ctx->msg, sizeof ctx->msg, "progressive JPEG has more than %d scans", STRATUS_IMAGE_MAX_JPEG_SCANS);
        ctx->status = STRATUS_IMAGE_ECORRUPT;
        longjmp(ctx->jump, 1);
    }
}

static void jpeg_ctx_init(jpeg_ctx *ctx, struct jpeg_decompress_struct *cinfo) {
    memset(ctx, 0, sizeof *ctx);
    jpeg_std_error(&ctx->pub);
    ctx->pub.error_exit = jpeg_on_error;
    ctx->pub.emit_message = jpeg_on_message;
    ctx->pub.output_message = jpeg_on_output;
    ctx->progress.progress_monitor = jpeg_on_progress;
    memset(cinfo, 0, sizeof *cinfo);
    cinfo->err = &ctx->pub;
}

static inline uint8_t mul255(unsigned a, unsigned b) {
    unsigned t = a * b + 128;
    return (uint8_t)((t + (t >> 8)) >> 8);  // round(a * b / 255)
}

static int decode_jpeg(const uint8_t *data, size_t len, uint64_t max_pixels, stratus_image *out, char *err,
                       size_t errlen) {
    struct jpeg_decompress_struct cinfo;
    jpeg_ctx ctx;
    jpeg_ctx_init(&ctx, &cinfo);

    if (setjmp(ctx.jump)) {
        int status = ctx.status;
        // A header that declared an oversized image is reported as such even
        // if the data after it is broken.
        if (cinfo.image_width > 0 && cinfo.image_height > 0 &&
            exceeds(cinfo.image_width, cinfo.image_height, max_pixels)) {
            out->width = cinfo.image_width;
            out->height = cinfo.image_height;
            status = too_large(cinfo.image_width, cinfo.image_height, max_pixels, err, errlen);
        } else {
            set_err(err, errlen, "JPEG: %s", ctx.msg);
        }
        jpeg_destroy_decompress(&cinfo);
        free(ctx.pixels);
        free(ctx.cmyk_row);
        return status;
    }

    jpeg_create_decompress(&cinfo);
    cinfo.progress = &ctx.progress;
    jpeg_mem_src(&cinfo, data, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);

    uint32_t width = cinfo.image_width, height = cinfo.image_height;
    if (exceeds(width, height, max_pixels)) {
        out->width = width;
        out->height = height;
        jpeg_destroy_decompress(&cinfo);
        return too_large(width, height, max_pixels, err, errlen);
    }

    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&cinfo);

    if (cinfo.output_width != width || cinfo.output_height != height ||
        cinfo.output_components != (cmyk ? 4 : 3)) {
        snprintf(ctx.msg, sizeof ctx.msg, "unexpected output geometry");
        ctx.status = STRATUS_IMAGE_EUNSUPPORTED;
        longjmp(ctx.jump, 1);
    }

    size_t stride = (size_t)width * 3;
    ctx.pixels = malloc(stride * height);
    if (cmyk) ctx.cmyk_row = malloc((size_t)width * 4);
    if (ctx.pixels == NULL || (cmyk && ctx.cmyk_row == NULL)) {
        snprintf(ctx.msg, sizeof ctx.msg, "out of memory for %ux%u pixels", width, height);
        ctx.status = STRATUS_IMAGE_ENOMEM;
        longjmp(ctx.jump, 1);
    }

    // Adobe CMYK files store inverted values (0 = full ink).
    int inverted = cinfo.saw_Adobe_marker;
    while (cinfo.output_scanline < height) {
        uint8_t *dst = ctx.pixels + (size_t)cinfo.output_scanline * stride;
        if (!cmyk) {
            JSAMPROW rows[1] = {dst};
            jpeg_read_scanlines(&cinfo, rows, 1);
            continue;
        }
        JSAMPROW rows[1] = {ctx.cmyk_row};
        jpeg_read_scanlines(&cinfo, rows, 1);
        const uint8_t *src = ctx.cmyk_row;
        for (uint32_t x = 0; x < width; x++, src += 4, dst += 3) {
            unsigned c = src[0], m = src[1], y = src[2], k = src[3];
            if (!inverted) {
                c = 255 - c;
                m = 255 - m;
                y = 255 - y;
                k = 255 - k;
            }
            dst[0] = mul255(c, k);
            dst[1] = mul255(m, k);
            dst[2] = mul255(y, k);
        }
    }

    // No jpeg_finish_decompress: every scanline has been read, and a missing
    // EOI after complete data is harmless.
    out->width = width;
    out->height = height;
    out->pixels = ctx.pixels;
    out->format = STRATUS_IMAGE_FORMAT_JPEG;
    ctx.pixels = NULL;
    if (cinfo.err->num_warnings > 0) set_err(err, errlen, "JPEG warning: %s", ctx.msg);
    jpeg_destroy_decompress(&cinfo);
    free(ctx.cmyk_row);
    return STRATUS_IMAGE_OK;
}

static int probe_jpeg(const uint8_t *data, size_t len, uint32_t *width, uint32_t *height, char *err,
                      size_t errlen) {
    struct jpeg_decompress_struct cinfo;
    jpeg_ctx ctx;
    jpeg_ctx_init(&ctx, &cinfo);
    if (setjmp(ctx.jump)) {
        int status = ctx.status;
        if (cinfo.image_width > 0 && cinfo.image_height > 0) {
            // The frame header was read; later damage is decode's business.
            *width = cinfo.image_width;
            *height = cinfo.image_height;
            status = STRATUS_IMAGE_OK;
        } else {
            set_err(err, errlen, "JPEG: %s", ctx.msg);
        }
        jpeg_destroy_decompress(&cinfo);
        return status;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    *width = cinfo.image_width;
    *height = cinfo.image_height;
    jpeg_destroy_decompress(&cinfo);
    return STRATUS_IMAGE_OK;
}

// MARK: - PNG

typedef struct png_ctx {
    const uint8_t *data;
    size_t len;
    size_t offset;
    char msg[256];
    int status;
    uint8_t *pixels;
    png_bytep *rows;
} png_ctx;

static void png_on_error(png_structp png, png_const_charp message) {
    png_ctx *ctx = (png_ctx *)png_get_error_ptr(png);
    snprintf(ctx->msg, sizeof ctx->msg, "%s", message);
    if (ctx->status == STRATUS_IMAGE_OK) ctx->status = STRATUS_IMAGE_ECORRUPT;
    png_longjmp(png, 1);  // never return: libpng's default would print
}

static void png_on_warning(png_structp png, png_const_charp message) {
    png_ctx *ctx = (png_ctx *)png_get_error_ptr(png);
    snprintf(ctx->msg, sizeof ctx->msg, "%s", message);
}

static void png_on_read(png_structp png, png_bytep dst, size_t count) {
    png_ctx *ctx = (png_ctx *)png_get_io_ptr(png);
    if (count > ctx->len - ctx->offset) png_error(png, "PNG data is truncated");
    memcpy(dst, ctx->data + ctx->offset, count);
    ctx->offset += count;
}

/// Dimensions from the IHDR chunk that must follow the signature, read
/// without libpng. Returns 0 if the header is not there.
static int png_ihdr(const uint8_t *data, size_t len, uint32_t *width, uint32_t *height) {
    if (len < 24 || memcmp(data + 12, "IHDR", 4) != 0) return 0;
    *width = (uint32_t)data[16] << 24 | (uint32_t)data[17] << 16 | (uint32_t)data[18] << 8 | data[19];
    *height = (uint32_t)data[20] << 24 | (uint32_t)data[21] << 16 | (uint32_t)data[22] << 8 | data[23];
    return 1;
}

static int decode_png(const uint8_t *data, size_t len, uint64_t max_pixels, stratus_image *out, char *err,
                      size_t errlen) {
    // Refuse oversized images before libpng allocates anything.
    uint32_t width = 0, height = 0;
    if (png_ihdr(data, len, &width, &height) && exceeds(width, height, max_pixels)) {
        out->width = width;
        out->height = height;
        return too_large(width, height, max_pixels, err, errlen);
    }

    png_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.data = data;
    ctx.len = len;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, png_on_error, png_on_warning);
    if (png == NULL) return fail(STRATUS_IMAGE_ENOMEM, err, errlen, "PNG: cannot create read struct");
    png_infop info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_read_struct(&png, NULL, NULL);
        return fail(STRATUS_IMAGE_ENOMEM, err, errlen, "PNG: cannot create info struct");
    }

    if (setjmp(png_jmpbuf(png))) {
        set_err(err, errlen, "PNG: %s", ctx.msg);
        png_destroy_read_struct(&png, &info, NULL);
        free(ctx.rows);
        free(ctx.pixels);
        return ctx.status;
    }

    png_set_read_fn(png, &ctx, png_on_read);
    png_set_user_limits(png, PNG_USER_WIDTH_MAX, PNG_USER_HEIGHT_MAX);
    png_set_chunk_cache_max(png, 128);
    png_set_chunk_malloc_max(png, 8u << 20);
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, 0);
    png_read_info(png, info);

    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(png, info, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);
    if (exceeds(width, height, max_pixels)) {
        out->width = width;
        out->height = height;
        png_destroy_read_struct(&png, &info, NULL);
        return too_large(width, height, max_pixels, err, errlen);
    }

    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (bit_depth == 16) png_set_scale_16(png);
    if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    // Drop alpha, whether a channel or tRNS transparency (which palette
    // expansion would otherwise turn into one).
    if ((color_type & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS)) png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    size_t stride = (size_t)width * 3;
    if (png_get_rowbytes(png, info) != stride || png_get_channels(png, info) != 3 ||
        png_get_bit_depth(png, info) != 8) {
        ctx.status = STRATUS_IMAGE_EUNSUPPORTED;
        png_error(png, "unsupported pixel format after conversion");
    }
    ctx.pixels = malloc(stride * height);
    ctx.rows = malloc(sizeof(png_bytep) * height);
    if (ctx.pixels == NULL || ctx.rows == NULL) {
        ctx.status = STRATUS_IMAGE_ENOMEM;
        png_error(png, "out of memory");
    }
    for (uint32_t y = 0; y < height; y++) ctx.rows[y] = ctx.pixels + (size_t)y * stride;
    png_read_image(png, ctx.rows);
    // No png_read_end: the image data is complete; trailing chunks (and a
    // missing IEND) do not change the pixels.

    out->width = width;
    out->height = height;
    out->pixels = ctx.pixels;
    out->format = STRATUS_IMAGE_FORMAT_PNG;
    if (ctx.msg[0] != '\0') set_err(err, errlen, "PNG warning: %s", ctx.msg);
    png_destroy_read_struct(&png, &info, NULL);
    free(ctx.rows);
    return STRATUS_IMAGE_OK;
}

// MARK: - Public decode API

int stratus_image_decode(const uint8_t *data, size_t len, uint64_t max_pixels, stratus_image *out, char *err,
                         size_t errlen) {
    if (err != NULL && errlen > 0) err[0] = '\0';
    if (out == NULL) return fail(STRATUS_IMAGE_EINVAL, err, errlen, "out is NULL");
    memset(out, 0, sizeof *out);
    if (data == NULL && len > 0) return fail(STRATUS_IMAGE_EINVAL, err, errlen, "data is NULL");
    if (max_pixels == 0) return fail(STRATUS_IMAGE_EINVAL, err, errlen, "max_pixels must be at least 1");
    switch (sniff(data, len)) {
    case STRATUS_IMAGE_FORMAT_JPEG:
        return decode_jpeg(data, len, max_pixels, out, err, errlen);
    case STRATUS_IMAGE_FORMAT_PNG:
        return decode_png(data, len, max_pixels, out, err, errlen);
    default:
        return fail(STRATUS_IMAGE_EUNSUPPORTED, err, errlen, "not a JPEG or PNG image (unrecognised magic bytes)");
    }
}

int stratus_image_probe(const uint8_t *data, size_t len, uint32_t *width, uint32_t *height, int *format, char *err,
                        size_t errlen) {
    if (err != NULL && errlen > 0) err[0] = '\0';
    uint32_t w = 0, h = 0;
    int status;
    if (data == NULL && len > 0) return fail(STRATUS_IMAGE_EINVAL, err, errlen, "data is NULL");
    int kind = sniff(data, len);
    switch (kind) {
    case STRATUS_IMAGE_FORMAT_JPEG:
        status = probe_jpeg(data, len, &w, &h, err, errlen);
        break;
    case STRATUS_IMAGE_FORMAT_PNG:
        status = png_ihdr(data, len, &w, &h) && w > 0 && h > 0 && w <= 0x7fffffffu && h <= 0x7fffffffu
                     ? STRATUS_IMAGE_OK
                     : fail(STRATUS_IMAGE_ECORRUPT, err, errlen, "PNG: missing or invalid IHDR");
        break;
    default:
        return fail(STRATUS_IMAGE_EUNSUPPORTED, err, errlen, "not a JPEG or PNG image (unrecognised magic bytes)");
    }
    if (status != STRATUS_IMAGE_OK) return status;
    if (width) *width = w;
    if (height) *height = h;
    if (format) *format = kind;
    return STRATUS_IMAGE_OK;
}

void stratus_image_free(stratus_image *img) {
    if (img == NULL) return;
    free(img->pixels);
    memset(img, 0, sizeof *img);
}

// MARK: - Tensor

size_t stratus_image_tensor_size(int width, int height, int element_type) {
    if (width < 1 || height < 1 || (unsigned)width > STRATUS_IMAGE_MAX_TENSOR_SIDE ||
        (unsigned)height > STRATUS_IMAGE_MAX_TENSOR_SIDE)
        return 0;
    size_t elem;
    switch (element_type) {
    case STRATUS_IMAGE_ELEMENT_U8: elem = 1; break;
    case STRATUS_IMAGE_ELEMENT_F32: elem = sizeof(float); break;
    default: return 0;
    }
    return (size_t)width * (size_t)height * 3 * elem;
}

/// Filter taps for one axis: output sample i reads source samples
/// start[i] ... start[i] + count[i] - 1 with weights weight[i * taps + k].
typedef struct axis_filter {
    int *start;
    int *count;
    float *weight;
    int taps;
    int lo, hi;  // union of all windows: [lo, hi)
} axis_filter;

// floor/ceil without libm (the target links only jpeg and png). |x| < 2^62.
static inline int64_t floor_i64(double x) {
    int64_t i = (int64_t)x;
    return (double)i > x ? i - 1 : i;
}

static inline int64_t ceil_i64(double x) {
    int64_t i = (int64_t)x;
    return (double)i < x ? i + 1 : i;
}

static void axis_free(axis_filter *f) {
    free(f->start);
    free(f->count);
    free(f->weight);
}

/// Output sample i is centred on source coordinate offset + (i + 0.5) * scale
/// (source pixel j covers [j, j + 1)). Triangle filter of radius
/// max(scale, 1) source pixels: bilinear when upscaling, an area-weighted
/// average when downscaling.
static int axis_build(axis_filter *f, int in_size, int out_size, double offset, double scale) {
    memset(f, 0, sizeof *f);
    double filter_scale = scale > 1.0 ? scale : 1.0;
    double support = filter_scale;  // triangle radius 1, stretched
    f->taps = (int)ceil_i64(support) * 2 + 1;
    f->start = malloc(sizeof(int) * (size_t)out_size);
    f->count = malloc(sizeof(int) * (size_t)out_size);
    f->weight = malloc(sizeof(float) * (size_t)out_size * (size_t)f->taps);
    if (f->start == NULL || f->count == NULL || f->weight == NULL) {
        axis_free(f);
        return 0;
    }
    f->lo = in_size;
    f->hi = 0;
    for (int i = 0; i < out_size; i++) {
        double center = offset + (i + 0.5) * scale;
        int64_t lo64 = floor_i64(center - support + 0.5);
        int64_t hi64 = floor_i64(center + support + 0.5);
        int lo = lo64 < 0 ? 0 : (int)lo64;
        int hi = hi64 > in_size ? in_size : (int)hi64;
        if (hi - lo > f->taps) hi = lo + f->taps;  // rounding guard, never expected
        float *w = f->weight + (size_t)i * f->taps;
        double total = 0;
        int n = 0;
        for (int j = lo; j < hi; j++) {
            double d = (j + 0.5 - center) / filter_scale;
            if (d < 0) d = -d;
            double v = d < 1.0 ? 1.0 - d : 0.0;
            w[n++] = (float)v;
            total += v;
        }
        // Trim zero-weight taps at both ends.
        int first = 0;
        while (first < n && w[first] == 0.0f) first++;
        while (n > first && w[n - 1] == 0.0f) n--;
        if (first == n) {
            // Degenerate (cannot happen for a centre inside the image): nearest pixel.
            int64_t j64 = floor_i64(center);
            int j = j64 < 0 ? 0 : j64 >= in_size ? in_size - 1 : (int)j64;
            lo = j;
            w[0] = 1.0f;
            n = 1;
            first = 0;
            total = 1.0;
        } else if (first > 0) {
            memmove(w, w + first, sizeof(float) * (size_t)(n - first));
            lo += first;
            n -= first;
        }
        for (int k = 0; k < n; k++) w[k] = (float)(w[k] / total);
        f->start[i] = lo;
        f->count[i] = n;
        if (lo < f->lo) f->lo = lo;
        if (lo + n > f->hi) f->hi = lo + n;
    }
    return 1;
}

static inline void store_u8(uint8_t *base, size_t index, float v) {
    v += 0.5f;
    base[index] = v <= 0.0f ? 0 : v >= 255.0f ? 255 : (uint8_t)v;
}

static inline void store_f32(uint8_t *base, size_t index, float v) {
    memcpy(base + index * sizeof(float), &v, sizeof v);
}

int stratus_image_to_tensor(const stratus_image *img, int width, int height, int resize_mode, int layout,
                            int channel_order, int element_type, const float mean[3], const float scale_or_std[3],
                            void *out, size_t out_len, char *err, size_t errlen) {
    return stratus_image_to_tensor_cropped(img, width, height, resize_mode, 1.0, layout, channel_order, element_type, mean,
                                           scale_or_std, out, out_len, err, errlen);
}

int stratus_image_to_tensor_cropped(const stratus_image *img, int width, int height, int resize_mode, double crop,
                                    int layout, int channel_order, int element_type, const float mean[3],
                                    const float scale_or_std[3], void *out, size_t out_len, char *err, size_t errlen) {
    if (err != NULL && errlen > 0) err[0] = '\0';
    if (img == NULL || img->pixels == NULL || img->width == 0 || img->height == 0)
        return fail(STRATUS_IMAGE_EINVAL, err, errlen, "source image is empty");
    if (img->width > 0x7fffffffu || img->height > 0x7fffffffu ||
        (uint64_t)img->width * img->height > SIZE_MAX / 4)
        return fail(STRATUS_IMAGE_EINVAL, err, errlen, "source image dimensions out of range");
    if (resize_mode != STRATUS_IMAGE_RESIZE_STRETCH && resize_mode != STRATUS_IMAGE_RESIZE_SHORTER_SIDE_CENTER_CROP)
        return fail(STRATUS_IMAGE_EINVAL, err, errlen, "unknown resize mode");
    if (!(crop > 0.0 && crop <= 1.0))
        return fail(STRATUS_IMAGE_EINVAL, err, errlen, "crop fraction must be in (0, 1]");
    if (crop < 1.0 && resize_mode != STRATUS_IMAGE_RESIZE_SHORTER_SIDE_CENTER_CROP)
        return fail(STRATUS_IMAGE_EINVAL, err, errlen, "a crop fraction needs the centre-crop resize mode");
    if (layout != STRATUS_IMAGE_LAYOUT_NHWC && layout != STRATUS_IMAGE_LAYOUT_NCHW)
        return fail(STRATUS_IMAGE_EINVAL, err, errlen, "unknown layout");
    if (channel_order != STRATUS_IMAGE_ORDER_RGB && channel_order != STRATUS_IMAGE_ORDER_BGR)
        return fail(STRATUS_IMAGE_EINVAL, err, errlen, "unknown channel order");
    if (element_type != STRATUS_IMAGE_ELEMENT_U8 && element_type != STRATUS_IMAGE_ELEMENT_F32)
        return fail(STRATUS_IMAGE_EINVAL, err, errlen, "unknown element type");
    size_t need = stratus_image_tensor_size(width, height, element_type);
    if (need == 0) {
        set_err(err, errlen, "tensor size %dx%d out of range (1...%u per side)", width, height,
                STRATUS_IMAGE_MAX_TENSOR_SIDE);
        return STRATUS_IMAGE_EINVAL;
    }
    if (out == NULL) return fail(STRATUS_IMAGE_EINVAL, err, errlen, "out is NULL");
    if (out_len != need) {
        set_err(err, errlen, "output buffer is %zu bytes, a %dx%dx3 %s tensor needs exactly %zu", out_len, width,
                height, element_type == STRATUS_IMAGE_ELEMENT_F32 ? "f32" : "u8", need);
        return STRATUS_IMAGE_EBUFSIZE;
    }

    // Normalisation, in output channel order.
    float m[3] = {0, 0, 0}, s[3] = {1, 1, 1};
    if (element_type == STRATUS_IMAGE_ELEMENT_F32) {
        for (int c = 0; c < 3; c++) {
            if (mean != NULL) m[c] = mean[c];
            if (scale_or_std != NULL) s[c] = scale_or_std[c];
            if (!isfinite(m[c]) || !isfinite(s[c]) || s[c] == 0.0f)
                return fail(STRATUS_IMAGE_EINVAL, err, errlen, "mean must be finite and std finite and non-zero");
        }
    }

    // Geometry: the source window mapped onto the tensor. Filters see the box [cx, cx + cw) x
    // [cy, cy + ch) of the image as all there is (taps outside it are dropped), as a library that
    // crops and then resizes does.
    int sw = (int)img->width, sh = (int)img->height;
    int cx = 0, cy = 0;
    double sx, sy, ox = 0, oy = 0;
    if (resize_mode == STRATUS_IMAGE_RESIZE_STRETCH) {
        sx = (double)sw / width;
        sy = (double)sh / height;
    } else if (crop < 1.0) {
        // The central `crop` of the covering window, in whole pixels (truncated), centred with the
        // odd pixel after it: EfficientNet's and timm's eval transforms (224 / 256 = 0.875).
        double kx = (double)width / sw, ky = (double)height / sh;
        double k = kx > ky ? kx : ky;
        int64_t cw = (int64_t)(width / k * crop), ch = (int64_t)(height / k * crop);
        cw = cw < 1 ? 1 : cw > sw ? sw : cw;
        ch = ch < 1 ? 1 : ch > sh ? sh : ch;
        cx = (int)((sw - cw + 1) / 2);
        cy = (int)((sh - ch + 1) / 2);
        sw = (int)cw;
        sh = (int)ch;
        sx = (double)sw / width;
        sy = (double)sh / height;
    } else {
        double kx = (double)width / sw, ky = (double)height / sh;
        double k = kx > ky ? kx : ky;  // resize factor
        sx = sy = 1.0 / k;
        ox = (sw - width * sx) / 2.0;
        oy = (sh - height * sy) / 2.0;
    }

    axis_filter fx, fy;
    if (!axis_build(&fx, sw, width, ox, sx)) return fail(STRATUS_IMAGE_ENOMEM, err, errlen, "out of memory");
    if (!axis_build(&fy, sh, height, oy, sy)) {
        axis_free(&fx);
        return fail(STRATUS_IMAGE_ENOMEM, err, errlen, "out of memory");
    }
    // Horizontal pass first, over each source row the vertical pass reads, rounded to 8 bits; then
    // the vertical pass, rounded to 8 bits again: the order and rounding of Pillow's Image.resize,
    // so the tensor is the image a PIL-based evaluation pipeline would feed the model (models are
    // sensitive even to sub-level differences in their input).
    const int rows = fy.hi - fy.lo;
    const size_t mid_stride = (size_t)width * 3;
    uint8_t *mid = malloc((size_t)rows * mid_stride);
    if (mid == NULL) {
        axis_free(&fx);
        axis_free(&fy);
        return fail(STRATUS_IMAGE_ENOMEM, err, errlen, "out of memory");
    }

    const size_t src_stride = (size_t)img->width * 3;
    const size_t plane = (size_t)width * height;
    const int bgr = channel_order == STRATUS_IMAGE_ORDER_BGR;
    const int nchw = layout == STRATUS_IMAGE_LAYOUT_NCHW;
    const int f32 = element_type == STRATUS_IMAGE_ELEMENT_F32;
    // out_index(c) for channel c (output order) of pixel p:
    //   NHWC: p * 3 + c       NCHW: c * plane + p
    const size_t chan_step = nchw ? plane : 1;
    const size_t pix_step = nchw ? 1 : 3;
    uint8_t *dst = out;

    for (int r = 0; r < rows; r++) {
        const uint8_t *src = img->pixels + (size_t)(cy + fy.lo + r) * src_stride + (size_t)cx * 3;
        uint8_t *line = mid + (size_t)r * mid_stride;
        for (int x = 0; x < width; x++) {
            const float *wx = fx.weight + (size_t)x * fx.taps;
            const uint8_t *p = src + (size_t)fx.start[x] * 3;
            float red = 0, green = 0, blue = 0;
            for (int k = 0; k < fx.count[x]; k++, p += 3) {
                red += wx[k] * p[0];
                green += wx[k] * p[1];
                blue += wx[k] * p[2];
            }
            store_u8(line, (size_t)x * 3, red);
            store_u8(line, (size_t)x * 3 + 1, green);
            store_u8(line, (size_t)x * 3 + 2, blue);
        }
    }
    for (int y = 0; y < height; y++) {
        const float *wy = fy.weight + (size_t)y * fy.taps;
        const uint8_t *first = mid + (size_t)(fy.start[y] - fy.lo) * mid_stride;
        for (int x = 0; x < width; x++) {
            const uint8_t *p = first + (size_t)x * 3;
            float red = 0, green = 0, blue = 0;
            for (int k = 0; k < fy.count[y]; k++, p += mid_stride) {
                red += wy[k] * p[0];
                green += wy[k] * p[1];
                blue += wy[k] * p[2];
            }
            uint8_t rgb[3];
            store_u8(rgb, 0, red);
            store_u8(rgb, 1, green);
            store_u8(rgb, 2, blue);
            float c0 = bgr ? rgb[2] : rgb[0], c1 = rgb[1], c2 = bgr ? rgb[0] : rgb[2];
            size_t base = ((size_t)y * width + x) * pix_step;
            if (f32) {
                store_f32(dst, base, (c0 - m[0]) / s[0]);
                store_f32(dst, base + chan_step, (c1 - m[1]) / s[1]);
                store_f32(dst, base + 2 * chan_step, (c2 - m[2]) / s[2]);
            } else {
                dst[base] = (uint8_t)c0;
                dst[base + chan_step] = (uint8_t)c1;
                dst[base + 2 * chan_step] = (uint8_t)c2;
            }
        }
    }

    free(mid);
    axis_free(&fx);
    axis_free(&fy);
    return STRATUS_IMAGE_OK;
}
