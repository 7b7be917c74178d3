// A Stratus function in C: read the request body from stdin, print the response to stdout.
// Request metadata is in the environment (see stratus.h); return non-zero for HTTP 500.
#include "stratus.h"

int main(void) {
    size_t length = 0;
    char *body = stratus_read_body(&length);
    if (!body) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    printf("Hello! You said: %.*s", (int)length, body);
    free(body);
    return 0;
}
