// Writes to stderr, then traps.
#include <stdio.h>
int main(void) {
    fprintf(stderr, "about to trap\n");
    fflush(stderr);
    __builtin_trap();
}
