/* qr.c - a QR code as an SVG document (the 2FA enrolment's otpauth:// URI). */
#include <qrencode.h>
#include <stdlib.h>

#include "web/buf.h"
#include "web/qr.h"

#define QUIET 4 /* modules of white border, as the standard asks */

enum err qr_svg(const char *text, char **ret)
{
    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (!qr)
        return ERR_BAD_REQUEST;
    int w = qr->width, size = w + 2 * QUIET;
    struct buf b;
    buf_init(&b, (size_t)size * (size_t)size * 16 + 512);
    buf_str(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ");
    buf_int(&b, size);
    buf_str(&b, " ");
    buf_int(&b, size);
    buf_str(&b, "\" shape-rendering=\"crispEdges\"><rect width=\"100%\" height=\"100%\" "
                "fill=\"#fff\"/><path fill=\"#000\" d=\"");
    for (int y = 0; y < w; y++)
        for (int x = 0; x < w; x++) {
            if (!(qr->data[y * w + x] & 1))
                continue;
            buf_str(&b, "M");
            buf_int(&b, x + QUIET);
            buf_str(&b, " ");
            buf_int(&b, y + QUIET);
            buf_str(&b, "h1v1h-1z");
        }
    buf_str(&b, "\"/></svg>");
    QRcode_free(qr);
    if (b.failed) {
        buf_free(&b);
        return ERR_NOMEM;
    }
    *ret = b.data;
    return ERR_OK;
}
