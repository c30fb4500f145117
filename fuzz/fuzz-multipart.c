/* fuzz-multipart.c - POST /api/v1/archives/ with a hostile multipart body, through the real server.
 *
 * Input: an optional '!' (then the upload token authorises the request, else
 * the staff JWT: both paths of the form handler run), the Content-Type value
 * up to the first '\n' (none: a fixed boundary "XX"), then the body. The
 * server must answer every input without a crash, a sanitizer report or a leak.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct harness *h = harness_get();
    bool with_token = size && data[0] == '!';
    if (with_token) {
        data++;
        size--;
    }
    const uint8_t *nl = memchr(data, '\n', size < 512 ? size : 512);
    char ctype[520] = "multipart/form-data; boundary=XX";
    const uint8_t *body = data;
    size_t blen = size;
    if (nl) {
        size_t n = (size_t)(nl - data);
        memcpy(ctype, data, n);
        ctype[n] = 0;
        for (size_t i = 0; i < n; i++) /* keep the request head well-formed */
            if (ctype[i] == '\r' || ctype[i] == 0)
                ctype[i] = ' ';
        body = nl + 1;
        blen = size - n - 1;
    }
    char auth[1100];
    if (with_token)
        snprintf(auth, sizeof(auth), "Upload-Token: %s", h->token);
    else
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", h->jwt);
    char head[2048];
    int hn = snprintf(head, sizeof(head),
                      "POST /api/v1/archives/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                      "%s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n",
                      auth, ctype, blen);
    char *req = malloc((size_t)hn + blen);
    if (!req)
        return 0;
    memcpy(req, head, (size_t)hn);
    memcpy(req + hn, body, blen);
    harness_exchange(req, (size_t)hn + blen);
    free(req);
    return 0;
}
