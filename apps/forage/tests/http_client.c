/*
 * The raw HTTP client of the server's tests (http_client.h).
 */
#include "http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "forage_test.h"

void
http_test_server_open(http_test_server *s, uint32_t regions)
{
    char err[FORAGE_ERR_BYTES];
    forage_app_opts o = {.regions = regions, .seed = 7};
    int rv = forage_app_open(&o, &s->app, err);
    cr_assert(rv == 0, "forage_app_open: %s (%s)", tidal_errname(rv), err);
    rv = forage_http_open(s->app, "127.0.0.1:0", &s->http, err);
    cr_assert(rv == 0, "forage_http_open: %s (%s)", tidal_errname(rv), err);
    const char *url = forage_http_url(s->http);
    cr_assert(sscanf(url, "http://127.0.0.1:%d/", &s->port) == 1, "url %s", url);
    cr_assert(s->port > 0);
}

void
http_test_server_close(http_test_server *s)
{
    forage_http_close(s->http);
    FORAGE_PASS(forage_app_close(s->app));
}

static void
write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n <= 0) {
            return; /* the server may close early (413): read what it said */
        }
        p += n;
        len -= (size_t)n;
    }
}

void
http_request(int port, const char *raw, size_t len, http_reply *out)
{
    memset(out, 0, sizeof(*out));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    write_all(fd, raw, len);
    size_t got = 0;
    ssize_t n;
    while (got < sizeof(out->text) - 1 &&
           (n = read(fd, out->text + got, sizeof(out->text) - 1 - got)) > 0) {
        got += (size_t)n;
    }
    close(fd);
    out->text[got] = '\0';
    if (sscanf(out->text, "HTTP/1.1 %d", &out->status) != 1) {
        out->status = 0;
        return;
    }
    const char *body = strstr(out->text, "\r\n\r\n");
    if (body != NULL) {
        out->json = json_loads(body + 4, 0, NULL);
    }
}

void
http_call(int port, const char *method, const char *path, const char *body, http_reply *out)
{
    char raw[8192];
    int n = body != NULL ? snprintf(raw, sizeof(raw),
                                    "%s %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                                    "Content-Type: application/json\r\n"
                                    "Content-Length: %zu\r\n\r\n%s",
                                    method, path, strlen(body), body)
                         : snprintf(raw, sizeof(raw),
                                    "%s %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                                    method, path);
    cr_assert(n > 0 && (size_t)n < sizeof(raw));
    http_request(port, raw, (size_t)n, out);
}

void
http_reply_free(http_reply *r)
{
    json_decref(r->json);
    r->json = NULL;
}

const char *
http_str(const http_reply *r, const char *name)
{
    const char *s = json_string_value(json_object_get(r->json, name));
    return s != NULL ? s : "";
}
