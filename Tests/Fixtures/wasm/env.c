// Prints the watchdog variables and MY_VAR, one NAME=value per line.
#include <stdio.h>
#include <stdlib.h>
int main(void) {
    const char *names[] = {"Http_Method", "Http_Path", "Http_Query", "Http_Content_Type", "Http_X_Test", "MY_VAR"};
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *value = getenv(names[i]);
        printf("%s=%s\n", names[i], value ? value : "");
    }
    return 0;
}
