/*
 * GET /api/export: the RLHF export, streamed from tidal (export.h, being
 * written on its own branch).  Until it is in this build the endpoint says
 * so with 501; wiring it is this one function: run the exporter with a line
 * callback that appends each line to the response body (or writes it to
 * the connection), then reply with it as application/x-ndjson.
 */
#include "http_internal.h"

void
forage_http_export(forage_http_job *j)
{
    forage_http_fail(j->aio, NNG_HTTP_STATUS_NOT_IMPLEMENTED, j->close,
                     "the RLHF export is not in this build yet (apps/forage/export.h)");
}
