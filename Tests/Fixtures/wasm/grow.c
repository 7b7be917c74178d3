// Allocates 64 MiB in 1 MiB chunks, touching each; the chunks escape so the compiler keeps them.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
char *volatile chunks[64];
int main(void) {
    for (int i = 0; i < 64; i++) {
        chunks[i] = malloc(1024 * 1024);
        if (!chunks[i]) {
            printf("malloc failed after %d MiB\n", i);
            return 1;
        }
        memset(chunks[i], i, 1024 * 1024);
    }
    printf("allocated 64 MiB\n");
    return 0;
}
