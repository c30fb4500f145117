/* qr.h - QR codes (libqrencode) drawn as SVG documents. */
#pragma once

#include "core/err.h"

/* The QR code of text (error correction M) as a standalone SVG document: one
 * path of black modules on white with a 4-module quiet zone, nothing from
 * text in the markup. *ret (heap, caller frees) on success; ERR_BAD_REQUEST
 * when text does not fit a QR code, ERR_NOMEM. */
enum err qr_svg(const char *text, char **ret);
