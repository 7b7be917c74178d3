// Image decoding and tensor preparation for Wasm host functions.
//
// Guests are untrusted: every function here accepts hostile input and reports
// failure through a status code and a NUL-terminated message; nothing in this
// library prints, aborts or exits. All functions are reentrant (no global
// state) and may be called concurrently from several threads.
//
// Dependencies: libjpeg (libjpeg-turbo) and libpng 1.6.
#ifndef STRATUS_IMAGE_H
#define STRATUS_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Status codes returned by every function in this header.
typedef enum stratus_image_status {
    /// Success.
    STRATUS_IMAGE_OK = 0,
    /// A NULL pointer, a zero or oversized dimension, or an unknown enum value.
    STRATUS_IMAGE_EINVAL = 1,
    /// Neither JPEG nor PNG (by magic bytes), or a JPEG/PNG variant this build
    /// cannot decode (e.g. 12-bit or lossless JPEG, an unknown colour space).
    STRATUS_IMAGE_EUNSUPPORTED = 2,
    /// The header declares width * height > max_pixels. Nothing was decoded.
    STRATUS_IMAGE_ETOOLARGE = 3,
    /// Truncated or malformed data (bad marker, bad CRC, premature end, ...).
    STRATUS_IMAGE_ECORRUPT = 4,
    /// A memory allocation failed.
    STRATUS_IMAGE_ENOMEM = 5,
    /// The caller's output buffer is not exactly the required size.
    STRATUS_IMAGE_EBUFSIZE = 6,
} stratus_image_status;

/// Container formats recognised by stratus_image_decode.
typedef enum stratus_image_format {
    STRATUS_IMAGE_FORMAT_UNKNOWN = 0,
    STRATUS_IMAGE_FORMAT_JPEG = 1,
    STRATUS_IMAGE_FORMAT_PNG = 2,
} stratus_image_format;

/// A decoded image: 8-bit RGB, rows top to bottom, tightly packed
/// (row stride = width * 3 bytes, no padding).
typedef struct stratus_image {
    uint32_t width;
    uint32_t height;
    /// width * height * 3 bytes, owned by the struct when produced by
    /// stratus_image_decode (release with stratus_image_free). A caller may also
    /// fill the struct itself to point at its own pixels for
    /// stratus_image_to_tensor, which never frees or writes through it.
    uint8_t *pixels;
    /// Which decoder produced it (stratus_image_format).
    int format;
} stratus_image;

/// Resampling for stratus_image_to_tensor.
typedef enum stratus_image_resize_mode {
    /// Scale each axis independently to exactly width x height (aspect ratio
    /// is not preserved).
    STRATUS_IMAGE_RESIZE_STRETCH = 0,
    /// Scale uniformly so the image covers width x height (the shorter side,
    /// relative to the target's aspect, becomes the target size), then take
    /// the centred width x height window. No intermediate image is built: the
    /// crop window is sampled directly in source coordinates.
    STRATUS_IMAGE_RESIZE_SHORTER_SIDE_CENTER_CROP = 1,
} stratus_image_resize_mode;

/// Memory layout of the tensor (batch dimension N = 1).
typedef enum stratus_image_layout {
    /// [1][height][width][3]: channels interleaved per pixel.
    STRATUS_IMAGE_LAYOUT_NHWC = 0,
    /// [1][3][height][width]: one plane per channel.
    STRATUS_IMAGE_LAYOUT_NCHW = 1,
} stratus_image_layout;

/// Channel order of the tensor.
typedef enum stratus_image_channel_order {
    STRATUS_IMAGE_ORDER_RGB = 0,
    STRATUS_IMAGE_ORDER_BGR = 1,
} stratus_image_channel_order;

/// Element type of the tensor.
typedef enum stratus_image_element_type {
    /// uint8_t, the resampled value rounded to nearest and clamped to 0...255.
    /// mean and std are ignored.
    STRATUS_IMAGE_ELEMENT_U8 = 0,
    /// float (IEEE-754 binary32, host byte order): (v - mean[c]) / std[c]
    /// where v is the resampled value on the 0...255 scale (not rounded).
    STRATUS_IMAGE_ELEMENT_F32 = 1,
} stratus_image_element_type;

/// Upper bound for the width and height of a tensor (each).
#define STRATUS_IMAGE_MAX_TENSOR_SIDE 16384u

/// Progressive JPEGs with more scans than this are refused as corrupt (a
/// classic decoder denial of service; real encoders emit about 10 scans).
#define STRATUS_IMAGE_MAX_JPEG_SCANS 256

/// Decodes a JPEG or PNG held in memory into 8-bit RGB.
///
/// The format is chosen by magic bytes (JPEG: FF D8 FF; PNG: the 8-byte PNG
/// signature); anything else is STRATUS_IMAGE_EUNSUPPORTED.
///
/// The header is read first: if width * height > max_pixels the call fails
/// with STRATUS_IMAGE_ETOOLARGE before any pixel memory is allocated or any
/// image data is decompressed (cost: a header parse). On that failure
/// out->width and out->height hold the declared dimensions. max_pixels must
/// be at least 1. Peak memory is about 3 bytes per pixel (the result) plus,
/// for progressive JPEGs, libjpeg's coefficient buffer (3 to 6 bytes per
/// pixel depending on chroma subsampling); size max_pixels accordingly.
///
/// Conversions:
/// - JPEG: YCbCr and RGB to RGB; grayscale replicated to R = G = B; CMYK and
///   YCCK converted with the naive formula R = 255 * (1 - C) * (1 - K) (Adobe
///   files, which store CMYK inverted, are recognised by their APP14 marker).
///   Truncated data ("premature end of JPEG file") and corrupt entropy-coded
///   data are errors, not grey fill. Other libjpeg warnings (e.g. extraneous
///   bytes before a marker) are tolerated: decoding succeeds and the last
///   warning is left in err. Nothing is printed and exit() is never called.
/// - PNG: palette expanded; 1/2/4-bit grayscale expanded; grayscale
///   replicated; 16-bit scaled to 8-bit with rounding; the alpha channel and
///   tRNS transparency are dropped (colour kept as stored, like PIL's
///   convert("RGB") or OpenCV's IMREAD_COLOR; no compositing); gAMA/iCCP are
///   ignored (samples are used as stored). Critical-chunk CRC or zlib errors
///   and truncated image data are errors; a missing IEND after complete image
///   data is tolerated.
///
/// \param data       the encoded bytes (may be NULL only when len is 0).
/// \param len        number of bytes at data.
/// \param max_pixels largest width * height accepted (>= 1).
/// \param out        receives the image; zeroed first. On success release it
///                   with stratus_image_free. On failure out->pixels is NULL.
/// \param err        optional (NULL or errlen 0 to skip): receives a
///                   NUL-terminated message on failure, truncated to errlen.
///                   On success it is an empty string or a tolerated warning.
/// \param errlen     size of err in bytes.
/// \returns STRATUS_IMAGE_OK, EINVAL (NULL out, max_pixels 0, NULL data with
///          len > 0), EUNSUPPORTED, ETOOLARGE, ECORRUPT or ENOMEM.
int stratus_image_decode(const uint8_t *data, size_t len, uint64_t max_pixels,
                         stratus_image *out, char *err, size_t errlen);

/// Reads only the header: format and declared dimensions, no decoding and no
/// allocation proportional to the image size.
///
/// \param data, len  the encoded bytes.
/// \param width, height, format  receive the values (each may be NULL).
/// \param err, errlen  optional message buffer, as for stratus_image_decode.
/// \returns STRATUS_IMAGE_OK, EINVAL, EUNSUPPORTED or ECORRUPT (the header
///          itself is truncated or malformed).
int stratus_image_probe(const uint8_t *data, size_t len, uint32_t *width,
                        uint32_t *height, int *format, char *err,
                        size_t errlen);

/// Releases the pixels of an image produced by stratus_image_decode and
/// zeroes the struct. NULL and already-freed (zeroed) images are accepted.
void stratus_image_free(stratus_image *img);

/// Bytes needed for a width x height x 3 tensor of the given element type:
/// width * height * 3 * (1 for U8, 4 for F32), or 0 if any argument is out of
/// range (width or height 0 or above STRATUS_IMAGE_MAX_TENSOR_SIDE, unknown
/// element type).
size_t stratus_image_tensor_size(int width, int height, int element_type);

/// Resamples an RGB image into a model input tensor of shape 1x3xHxW (NCHW)
/// or 1xHxWx3 (NHWC).
///
/// Resampling is separable and area-aware: a triangle (tent) filter whose
/// support is widened by the scale factor when downscaling, so each output
/// sample is a weighted average over the whole source area it covers (the
/// "antialiased bilinear" of PIL's Image.resize(BILINEAR) and torchvision's
/// antialias=True). Upscaling reduces to plain bilinear interpolation.
/// Pixel centres are at half-integer coordinates; taps that fall outside the
/// image are dropped and the remaining weights renormalised (edge clamp).
/// The horizontal pass runs first over the source rows the output needs, each
/// result rounded to 8 bits, then the vertical pass, rounded to 8 bits again
/// before normalisation: the order and rounding of Pillow's Image.resize, so
/// the tensor is what a PIL-based evaluation pipeline feeds a model. Temporary
/// memory is those rows at the output width (rows x width x 3 bytes) plus the
/// filter tables. Work is proportional to (source pixels read + output pixels)
/// x taps.
///
/// \param img           source (pixels non-NULL, width and height >= 1).
/// \param width, height tensor size, each 1...STRATUS_IMAGE_MAX_TENSOR_SIDE.
/// \param resize_mode   stratus_image_resize_mode.
/// \param layout        stratus_image_layout.
/// \param channel_order stratus_image_channel_order.
/// \param element_type  stratus_image_element_type.
/// \param mean          F32 only: per-channel mean, indexed in the OUTPUT
///                      channel order (for BGR, mean[0] applies to blue).
///                      NULL means {0, 0, 0}. Must be finite.
/// \param scale_or_std  F32 only: per-channel divisor, output channel order;
///                      NULL means {1, 1, 1}. Must be finite and non-zero.
///                      E.g. mean 0 and std 255 give values in [0, 1].
/// \param out           destination; any alignment is accepted (elements are
///                      stored with memcpy).
/// \param out_len       must equal stratus_image_tensor_size(width, height,
///                      element_type) exactly, else EBUFSIZE.
/// \param err, errlen   optional message buffer, as for stratus_image_decode.
/// \returns STRATUS_IMAGE_OK, EINVAL, EBUFSIZE or ENOMEM. On failure out is
///          left untouched.
int stratus_image_to_tensor(const stratus_image *img, int width, int height,
                            int resize_mode, int layout, int channel_order,
                            int element_type, const float mean[3],
                            const float scale_or_std[3], void *out,
                            size_t out_len, char *err, size_t errlen);

/// stratus_image_to_tensor with a crop fraction for STRATUS_IMAGE_RESIZE_SHORTER_SIDE_CENTER_CROP:
/// only the central `crop` (0 < crop <= 1) of the window that centre-crop would cover is resized,
/// cut in whole pixels as crop-then-resize libraries do: side trunc(window * crop), top-left at
/// ((size - side + 1) / 2); resampling sees that box alone. EfficientNet-Lite and most ImageNet
/// models are evaluated with crop = 224 / 256 = 0.875. crop 1 is stratus_image_to_tensor exactly;
/// crop < 1 with another resize mode is EINVAL.
int stratus_image_to_tensor_cropped(const stratus_image *img, int width, int height, int resize_mode, double crop,
                                    int layout, int channel_order, int element_type, const float mean[3],
                                    const float scale_or_std[3], void *out, size_t out_len, char *err, size_t errlen);

/// Encodes 8-bit pixels as a baseline (or progressive) JPEG in memory.
/// Mainly for tests and fixtures; not hardened for speed.
///
/// \param pixels     width * height * components bytes, rows tightly packed.
/// \param components 1 (grayscale), 3 (RGB, stored as YCbCr 4:2:0) or 4
///                   (CMYK, stored as-is with an Adobe marker; pass inverted
///                   values to mimic Photoshop files).
/// \param quality    1...100.
/// \param progressive non-zero for a progressive JPEG.
/// \param out, out_len receive a malloc'ed buffer; release with
///                   stratus_image_buffer_free.
/// \returns STRATUS_IMAGE_OK, EINVAL or ENOMEM.
int stratus_image_encode_jpeg(const uint8_t *pixels, uint32_t width,
                              uint32_t height, int components, int quality,
                              int progressive, uint8_t **out, size_t *out_len,
                              char *err, size_t errlen);

/// Releases a buffer returned by stratus_image_encode_jpeg. NULL is accepted.
void stratus_image_buffer_free(void *buffer);

#ifdef __cplusplus
}
#endif

#endif
