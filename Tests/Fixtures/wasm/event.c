// Answers like an API-gateway function: by default an integration response whose body is the
// event it read on stdin (statusCode 201, header X-From: event). Http_X_Mode=b64 answers a base64
// body; Http_X_Mode=plain answers text that is not an integration response.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    const char *mode = getenv("Http_X_Mode");
    if (mode && strcmp(mode, "b64") == 0) {
        printf("{\"statusCode\": 200, \"isBase64Encoded\": true, \"body\": \"aGVsbG8=\", \"headers\": {\"Content-Type\": \"application/octet-stream\"}}");
        return 0;
    }
    if (mode && strcmp(mode, "plain") == 0) {
        printf("not json");
        return 0;
    }
    printf("{\"statusCode\": 201, \"headers\": {\"X-From\": \"event\"}, \"body\": \"");
    int c;
    while ((c = getchar()) != EOF) {
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c == '\n') printf("\\n");
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    printf("\"}");
    return 0;
}
