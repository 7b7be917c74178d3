// A guest written against WasmEdge's image plugin (import module wasmedge_image), as the Rust
// crate wasmedge_tensorflow_interface calls it. stdin is a JPEG; prints the 2x2 RGB8 result,
// the first f32 value of the RGB32F result, and the result of a call with too small a buffer.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((import_module("wasmedge_image"), import_name("load_jpg")))
uint32_t load_jpg(const uint8_t *in, uint32_t in_len, uint32_t w, uint32_t h, uint32_t type, uint8_t *out, uint32_t out_len);

int main(void) {
    static uint8_t input[1 << 20];
    size_t n = fread(input, 1, sizeof input, stdin);
    uint8_t rgb[2 * 2 * 3];
    uint32_t code = load_jpg(input, (uint32_t)n, 2, 2, 0, rgb, sizeof rgb);
    printf("rgb8 %u:", code);
    for (int i = 0; i < 12; i++) printf(" %u", rgb[i]);
    float f[2 * 2 * 3];
    code = load_jpg(input, (uint32_t)n, 2, 2, 2, (uint8_t *)f, sizeof f);
    printf("\nrgb32f %u: %.3f\n", code, (double)f[0]);
    printf("small %u\n", load_jpg(input, (uint32_t)n, 2, 2, 0, rgb, 4));
    printf("garbage %u\n", load_jpg((const uint8_t *)"nope", 4, 2, 2, 0, rgb, sizeof rgb));
    return 0;
}
