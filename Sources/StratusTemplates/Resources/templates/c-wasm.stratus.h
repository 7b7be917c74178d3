// Stratus helpers for C functions (WASI command, OpenFaaS classic watchdog contract):
// the request body arrives on stdin, whatever you print to stdout is the response body,
// stderr goes to the function's log, and returning non-zero from main answers HTTP 500.
// Request metadata is in the environment: Http_Method, Http_Path, Http_Query,
// Http_Content_Type and Http_<Header_Name> (X-Foo-Bar -> Http_X_Foo_Bar).
#ifndef STRATUS_H
#define STRATUS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Reads the whole request body, NUL-terminated for convenience; free it with free().
// Returns NULL when out of memory; *length receives the body's size in bytes.
static inline char *stratus_read_body(size_t *length) {
    size_t capacity = 4096, used = 0, n;
    char *data = malloc(capacity + 1);
    if (!data) return NULL;
    while ((n = fread(data + used, 1, capacity - used, stdin)) > 0) {
        used += n;
        if (used == capacity) {
            char *bigger = realloc(data, capacity * 2 + 1);
            if (!bigger) { free(data); return NULL; }
            data = bigger;
            capacity *= 2;
        }
    }
    data[used] = '\0';
    if (length) *length = used;
    return data;
}

// The request metadata variable Http_<name>: "Method", "Path", "Query", "Content_Type",
// or a header such as "X_Foo_Bar". Returns "" when it is not set.
static inline const char *stratus_http(const char *name) {
    char key[256];
    if (snprintf(key, sizeof key, "Http_%s", name) >= (int)sizeof key) return "";
    const char *value = getenv(key);
    return value ? value : "";
}

#endif
