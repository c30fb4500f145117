/* internal.h - what the HTTP engine's own files share (src/http/ only). */
#pragma once

#include <microhttpd.h>

#include "http/req.h"

/* Queues the answer a reply_* helper prepared (none: MHD_YES), with the fixed
 * headers of the route's profile and those of req_add_header. On the thread
 * that runs the connection, never on a worker. */
enum MHD_Result req_send(struct req *r);
