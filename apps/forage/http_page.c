/*
 * GET /: the page (web/index.html, with its script and style inline),
 * embedded at build time by embed.cmake as forage_page_html: no file is
 * looked up at run time, so the binary serves it from wherever it runs.
 */
#include "http_internal.h"

extern const unsigned char forage_page_html[];
extern const size_t forage_page_html_len;

void
forage_http_page(forage_http_job *j)
{
    forage_http_reply_static(j->aio, forage_page_html, forage_page_html_len,
                             "text/html; charset=utf-8");
}
