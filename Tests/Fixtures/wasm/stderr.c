// Logs a line to stderr and answers "ok".
#include <stdio.h>
int main(void) {
    fprintf(stderr, "log line\n");
    printf("ok");
    return 0;
}
