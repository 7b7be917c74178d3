// Prints the file whose path is the request body (e.g. /opt/data.txt), or why it cannot.
#include <errno.h>
#include <stdio.h>
#include <string.h>
int main(void) {
    char path[512] = {0};
    if (!fgets(path, sizeof path, stdin)) return 2;
    path[strcspn(path, "\n")] = 0;
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
