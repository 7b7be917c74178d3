// Prints how many times this instance ran main: always 1 when no state leaks.
#include <stdio.h>
static int runs = 0;
int main(void) {
    runs++;
    printf("%d\n", runs);
    return 0;
}
