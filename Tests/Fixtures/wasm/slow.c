// Busy-waits about two seconds, then answers "done" (used to check graceful shutdown).
#include <stdio.h>
#include <time.h>
int main(void) {
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) < 2000000000L);
    printf("done");
    return 0;
}
