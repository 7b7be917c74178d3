// classify: the seed's image-recognition function as a Stratus Wasm function.
// Input: the seed's JSON {"body": "<base64 JPEG or PNG>"} or the raw image bytes.
// Output: the three most likely ImageNet labels with percentages, one per line, or JSON when the
// caller sends `Accept: application/json`. The model (EfficientNet-Lite0) is declared in stack.yml
// as com.stratus.model.efficientnet and reached with WASI-NN's load_by_name; the image is decoded,
// centre-cropped and normalised by the host (stratus_image.to_tensor), so the guest stays small.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labels.h"

// --- WASI-NN (wasi_ephemeral_nn, as WasmEdge and Wasmtime define it) ---------------------------
typedef struct {
    const uint32_t *dims;
    uint32_t rank;
    uint8_t type;  // 1 = f32
    const uint8_t *data;
    uint32_t length;
} nn_tensor;

#define NN(name) __attribute__((import_module("wasi_ephemeral_nn"), import_name(#name)))
NN(load_by_name) uint32_t nn_load_by_name(const char *name, uint32_t length, uint32_t *graph);
NN(init_execution_context) uint32_t nn_init(uint32_t graph, uint32_t *context);
NN(set_input) uint32_t nn_set_input(uint32_t context, uint32_t index, const nn_tensor *input);
NN(compute) uint32_t nn_compute(uint32_t context);
NN(get_output) uint32_t nn_get_output(uint32_t context, uint32_t index, uint8_t *buffer, uint32_t capacity, uint32_t *written);

// --- Stratus image host calls -----------------------------------------------------------------
typedef struct {
    uint32_t width, height;  // tensor size
    uint32_t resize;         // 0 = stretch, 1 = shorter side then centre crop
    uint32_t layout;         // 0 = NHWC, 1 = NCHW
    uint32_t order;          // 0 = RGB, 1 = BGR
    uint32_t type;           // WASI-NN tensor type: 1 = f32, 3 = u8
    float mean[3], std[3];   // f32 value = (pixel - mean) / std
} image_spec;

__attribute__((import_module("stratus_image"), import_name("to_tensor")))
uint32_t image_to_tensor(const uint8_t *image, uint32_t length, const image_spec *spec, uint8_t *out, uint32_t capacity, uint32_t *written);

// The request was wrong: the message is the answer, with HTTP 400 (exit code 65, EX_DATAERR).
static int reject(const char *message) {
    printf("%s\n", message);
    fprintf(stderr, "classify: %s\n", message);
    return 65;
}

// Something failed on this side: HTTP 500, the reason in the function's log.
static int fail(const char *message) {
    fprintf(stderr, "classify: %s\n", message);
    return 1;
}

static uint8_t *read_all(size_t *length) {
    size_t capacity = 1 << 16, used = 0, n;
    uint8_t *data = malloc(capacity);
    while (data && (n = fread(data + used, 1, capacity - used, stdin)) > 0) {
        used += n;
        if (used == capacity) {
            uint8_t *bigger = realloc(data, capacity * 2);
            if (!bigger) { free(data); return NULL; }
            data = bigger;
            capacity *= 2;
        }
    }
    *length = used;
    return data;
}

static int base64_value(uint8_t c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

// Decodes base64 from `text` (up to the closing quote) into `out`; returns the length, or -1.
static long base64_decode(const uint8_t *text, size_t length, uint8_t *out) {
    uint32_t buffer = 0;
    int bits = 0;
    long written = 0;
    for (size_t i = 0; i < length; i++) {
        uint8_t c = text[i];
        if (c == '=' ) break;
        if (c == '\\' && i + 1 < length && text[i + 1] == '/') { c = '/'; i++; }  // JSON may escape '/'
        else if (c == '\n' || c == '\r' || c == ' ') continue;
        int value = base64_value(c);
        if (value < 0) return -1;
        buffer = (buffer << 6) | (uint32_t)value;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[written++] = (uint8_t)(buffer >> bits);
        }
    }
    return written;
}

// The image bytes: the "body" of a JSON object (base64), else the input as it is.
static int image_bytes(uint8_t *input, size_t length, uint8_t **image, size_t *image_length) {
    size_t start = 0;
    while (start < length && (input[start] == ' ' || input[start] == '\n' || input[start] == '\r' || input[start] == '\t')) start++;
    if (start == length || input[start] != '{') {
        *image = input;
        *image_length = length;
        return 0;
    }
    const char *key = strstr((const char *)input + start, "\"body\"");
    if (!key || (size_t)((const uint8_t *)key - input) >= length) return reject("the JSON has no \"body\" field: send {\"body\": \"<base64 image>\"} or the image bytes");
    const uint8_t *p = (const uint8_t *)key + 6, *end = input + length;
    while (p < end && (*p == ' ' || *p == ':' || *p == '\n' || *p == '\t')) p++;
    if (p >= end || *p != '"') return reject("\"body\" must be a string holding the base64 image");
    p++;
    const uint8_t *close = memchr(p, '"', (size_t)(end - p));
    if (!close) return reject("\"body\" string is not terminated");
    uint8_t *decoded = malloc((size_t)(close - p) * 3 / 4 + 4);
    if (!decoded) return fail("out of memory");
    long n = base64_decode(p, (size_t)(close - p), decoded);
    if (n <= 0) return reject("\"body\" is not valid base64");
    *image = decoded;
    *image_length = (size_t)n;
    return 0;
}

int main(void) {
    size_t length = 0;
    uint8_t *input = read_all(&length);
    if (!input) return fail("out of memory");
    if (length == 0) return reject("send an image: {\"body\": \"<base64 JPEG or PNG>\"} or the image bytes");
    uint8_t *image = NULL;
    size_t image_length = 0;
    int status = image_bytes(input, length, &image, &image_length);
    if (status != 0) return status;

    static float pixels[3 * 224 * 224];
    image_spec spec = {224, 224, 1, 1, 0, 1, {127, 127, 127}, {128, 128, 128}};
    uint32_t written = 0;
    uint32_t code = image_to_tensor(image, (uint32_t)image_length, &spec, (uint8_t *)pixels, sizeof pixels, &written);
    if (code == 2) return reject("the body is not a JPEG or PNG image (or it is corrupt)");
    if (code == 7) return reject("the image is too large (at most 40 megapixels)");
    if (code != 0) return fail("the image could not be read");

    const char *model = getenv("MODEL");
    if (!model || !*model) model = "efficientnet";
    uint32_t graph = 0, context = 0;
    if (nn_load_by_name(model, (uint32_t)strlen(model), &graph) != 0) return fail("the model is not available (see the function's log)");
    if (nn_init(graph, &context) != 0) return fail("cannot create an execution context");
    static const uint32_t dims[4] = {1, 3, 224, 224};
    nn_tensor tensor = {dims, 4, 1, (const uint8_t *)pixels, sizeof pixels};
    if (nn_set_input(context, 0, &tensor) != 0 || nn_compute(context) != 0) return fail("inference failed (see the function's log)");
    static float scores[1000];
    if (nn_get_output(context, 0, (uint8_t *)scores, sizeof scores, &written) != 0 || written != sizeof scores)
        return fail("unexpected model output");

    int top[3] = {-1, -1, -1};
    for (int i = 0; i < 1000; i++) {
        for (int rank = 0; rank < 3; rank++) {
            if (top[rank] < 0 || scores[i] > scores[top[rank]]) {
                for (int k = 2; k > rank; k--) top[k] = top[k - 1];
                top[rank] = i;
                break;
            }
        }
    }
    const char *accept = getenv("Http_Accept");
    if (accept && strstr(accept, "application/json")) {
        printf("[");
        for (int rank = 0; rank < 3; rank++) {
            printf("%s{\"label\": \"%s\", \"index\": %d, \"probability\": %.4f}", rank ? ", " : "", imagenet_labels[top[rank]], top[rank],
                   (double)scores[top[rank]]);
        }
        printf("]\n");
    } else {
        for (int rank = 0; rank < 3; rank++) printf("%s: %.2f%%\n", imagenet_labels[top[rank]], (double)scores[top[rank]] * 100.0);
    }
    return 0;
}
