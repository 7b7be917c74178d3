// Recurses without end: the runtime must trap ("call stack exhausted"), never crash the host.
#include <stdio.h>
int depth(volatile int n) {
    volatile char frame[64];
    frame[0] = (char)n;
    return depth(n + 1) + frame[0];
}
int main(void) {
    printf("%d\n", depth(0));
    return 0;
}
