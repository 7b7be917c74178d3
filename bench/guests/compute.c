// Guest compute for bench/engines.sh: one C source built as a WASI command (clang --target=wasm32-wasi -O2)
// and natively (gcc -O2 / clang -O2). It times its own work (clock_gettime(CLOCK_MONOTONIC)), so
// process and instance start are not measured.
//
// Input (argv, or stdin when there are no arguments, i.e. the request body under Stratus):
//   WORKLOAD [ITERATIONS [BUDGET_MS]]
//   sha256  SHA-256 of 1 MiB generated in the program (a fixed pattern)
//   fib     fib(30), recursive
// It runs the workload ITERATIONS times (default 5), stopping early once BUDGET_MS (default 5000)
// have passed (at least one run), and prints one line:
//   workload=sha256 best_ns=… median_ns=… iterations=… check=…
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

// ---- SHA-256 (FIPS 180-4), plain portable C ----
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const uint8_t *p) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROTR(w[i - 15], 7) ^ ROTR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROTR(w[i - 2], 17) ^ ROTR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = hh + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

static void sha256(const uint8_t *data, size_t len, uint8_t out[32]) {
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    size_t full = len / 64 * 64;
    for (size_t i = 0; i < full; i += 64) sha256_block(h, data + i);
    uint8_t tail[128] = {0};
    size_t rest = len - full;
    memcpy(tail, data + full, rest);
    tail[rest] = 0x80;
    size_t tail_len = rest + 9 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++) tail[tail_len - 1 - i] = (uint8_t)(bits >> (8 * i));
    for (size_t i = 0; i < tail_len; i += 64) sha256_block(h, tail + i);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(h[i] >> 24); out[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(h[i] >> 8); out[4 * i + 3] = (uint8_t)h[i];
    }
}

// ---- fib ----
// noinline + a volatile argument keep the compiler from folding the call tree away.
__attribute__((noinline)) static uint32_t fib(uint32_t n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

enum { DATA_SIZE = 1 << 20 };
static uint8_t data[DATA_SIZE];

static int compare_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    char input[256] = {0};
    if (argc > 1) {
        size_t used = 0;
        for (int i = 1; i < argc && used < sizeof input - 2; i++) {
            used += (size_t)snprintf(input + used, sizeof input - used, "%s ", argv[i]);
        }
    } else {
        size_t n = fread(input, 1, sizeof input - 1, stdin);
        input[n] = 0;
    }
    char workload[32] = {0};
    int iterations = 5, budget_ms = 5000;
    if (sscanf(input, "%31s %d %d", workload, &iterations, &budget_ms) < 1) {
        fprintf(stderr, "usage: compute sha256|fib [ITERATIONS [BUDGET_MS]]\n");
        return 65;
    }
    if (iterations < 1) iterations = 1;
    if (iterations > 1000) iterations = 1000;
    int is_sha = strcmp(workload, "sha256") == 0, is_fib = strcmp(workload, "fib") == 0;
    if (!is_sha && !is_fib) {
        printf("unknown workload '%s' (sha256, fib)\n", workload);
        return 65;
    }
    if (is_sha) {
        uint32_t x = 0x12345678;  // fixed pattern: xorshift32
        for (size_t i = 0; i < DATA_SIZE; i++) {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5;
            data[i] = (uint8_t)x;
        }
    }
    uint64_t times[1000];
    uint64_t check = 0;
    int done = 0;
    uint64_t start = now_ns();
    volatile uint32_t fib_n = 30;
    while (done < iterations) {
        uint64_t t0 = now_ns();
        if (is_sha) {
            uint8_t digest[32];
            sha256(data, DATA_SIZE, digest);
            check = (uint64_t)digest[0] << 24 | (uint64_t)digest[1] << 16 | (uint64_t)digest[2] << 8 | digest[3];
        } else {
            check = fib(fib_n);
        }
        uint64_t t1 = now_ns();
        times[done++] = t1 - t0;
        if ((t1 - start) / 1000000 >= (uint64_t)budget_ms) break;
    }
    qsort(times, (size_t)done, sizeof times[0], compare_u64);
    printf("workload=%s best_ns=%llu median_ns=%llu iterations=%d check=%llx\n", workload, (unsigned long long)times[0],
           (unsigned long long)times[done / 2], done, (unsigned long long)check);
    return 0;
}
