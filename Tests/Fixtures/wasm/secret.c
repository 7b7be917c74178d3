// Prints the secret named by the request body from /var/openfaas/secrets, or why it cannot.
#include <errno.h>
#include <stdio.h>
#include <string.h>
int main(void) {
    char name[128] = {0}, path[256];
    if (!fgets(name, sizeof name, stdin)) return 2;
    name[strcspn(name, "\n")] = 0;
    snprintf(path, sizeof path, "/var/openfaas/secrets/%s", name);
    FILE *file = fopen(path, "r");
    if (!file) { printf("cannot open %s: %s", path, strerror(errno)); return 0; }
    char value[4096];
    size_t n = fread(value, 1, sizeof value, file);
    fwrite(value, 1, n, stdout);
    fclose(file);
    FILE *writer = fopen(path, "w");
    if (writer) { printf(" (writable!)"); fclose(writer); }
    return 0;
}
