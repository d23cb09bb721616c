/*
 * A request's arguments, from a POST's JSON body (parsed by jansson) or a
 * GET's query string.  Every argument has one form (http_internal.h); the
 * first one that is wrong decides the 400 and its message, which names it.
 * Arguments an endpoint does not take are refused too, so a misspelt field
 * is an error rather than a default.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "http_internal.h"

static const struct arg {
    const char *name;
    unsigned bit;
} args[] = {
    {"region", FORAGE_ARG_REGION},     {"user", FORAGE_ARG_USER},
    {"session", FORAGE_ARG_SESSION},   {"item", FORAGE_ARG_ITEM},
    {"answer", FORAGE_ARG_ANSWER},     {"since", FORAGE_ARG_SINCE},
    {"timeout", FORAGE_ARG_TIMEOUT},   {"after", FORAGE_ARG_AFTER},
    {"sessions", FORAGE_ARG_SESSIONS},
};
#define NARGS (sizeof(args) / sizeof(args[0]))

static int
bad(char *msg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(msg, FORAGE_HTTP_MSG_BYTES, fmt, ap); /* a long name is cut, not lost */
    va_end(ap);
    return 400;
}

static const struct arg *
find_arg(const char *name, size_t len)
{
    for (size_t i = 0; i < NARGS; i++) {
        if (strlen(args[i].name) == len && memcmp(args[i].name, name, len) == 0) {
            return &args[i];
        }
    }
    return NULL;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static bool
read_hex(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0 || len > 16) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        int d = hexval(s[i]);
        if (d < 0) {
            return false;
        }
        v = v << 4 | (uint64_t)d;
    }
    *out = v;
    return true;
}

/* A session id's 32 hex digits, not NUL-terminated (a query's value, a
 * JSON string's bytes), as the export reads them. */
static bool
session_parse(const char *s, size_t len, tidal_session_id *out)
{
    char hex[33];
    if (len != 32 || memchr(s, '\0', len) != NULL) {
        return false;
    }
    memcpy(hex, s, 32);
    hex[32] = '\0';
    return forage_export_session_parse(hex, out) == 0;
}

void
forage_http_version_hex(uint64_t v, char out[17])
{
    (void)snprintf(out, 17, "%016" PRIx64, v);
}

/* The rule of each argument, for messages. */
static const char *
rule(unsigned bit)
{
    switch (bit) {
    case FORAGE_ARG_REGION:
        return "an integer from 0 to 3";
    case FORAGE_ARG_USER:
    case FORAGE_ARG_ITEM:
        return "an integer from 0 to 9007199254740991";
    case FORAGE_ARG_SESSION:
    case FORAGE_ARG_AFTER:
        return "a string of 32 hex digits";
    case FORAGE_ARG_SESSIONS:
        return "an integer from 1 to 1000";
    case FORAGE_ARG_TIMEOUT:
        return "an integer from 1 to 25000 (milliseconds)";
    case FORAGE_ARG_ANSWER:
        return "one of \"view\", \"like\", \"skip\", \"hide\", \"unhide\"";
    default:
        return "1 to 16 hex digits";
    }
}
_Static_assert(FORAGE_APP_REGIONS_MAX == 4, "rule() names the region range");
_Static_assert(FORAGE_HTTP_WAIT_MS == 25000, "rule() names the timeout range");
_Static_assert(FORAGE_HTTP_EXPORT_SESSIONS_MAX == 1000, "rule() names the sessions range");
_Static_assert(FORAGE_HTTP_USER_MAX == UINT64_C(9007199254740991), "rule() names the id range");

/* Stores an integer argument after its range check. */
static bool
set_int(forage_http_args *out, unsigned bit, uint64_t v)
{
    switch (bit) {
    case FORAGE_ARG_REGION:
        if (v >= FORAGE_APP_REGIONS_MAX) {
            return false;
        }
        out->region = (uint32_t)v;
        return true;
    case FORAGE_ARG_USER:
        out->user = v;
        return v <= FORAGE_HTTP_USER_MAX;
    case FORAGE_ARG_ITEM:
        out->item = v;
        return v <= FORAGE_HTTP_USER_MAX;
    case FORAGE_ARG_TIMEOUT:
        out->timeout = (uint32_t)v;
        return v >= 1 && v <= FORAGE_HTTP_WAIT_MS;
    case FORAGE_ARG_SESSIONS:
        out->sessions = (uint32_t)v;
        return v >= 1 && v <= FORAGE_HTTP_EXPORT_SESSIONS_MAX;
    default:
        return false;
    }
}

/* Stores a string argument (session, answer, since) after its check. */
static bool
set_str(forage_http_args *out, unsigned bit, const char *s, size_t len)
{
    switch (bit) {
    case FORAGE_ARG_SESSION:
        return session_parse(s, len, &out->session);
    case FORAGE_ARG_AFTER:
        return session_parse(s, len, &out->after);
    case FORAGE_ARG_ANSWER: {
        char word[8];
        if (len >= sizeof(word) || memchr(s, '\0', len) != NULL) {
            return false;
        }
        memcpy(word, s, len);
        word[len] = '\0';
        out->answer = forage_answer_parse(word);
        return out->answer >= 0;
    }
    case FORAGE_ARG_SINCE:
        return read_hex(s, len, &out->since);
    default:
        return false;
    }
}

static bool
is_int_arg(unsigned bit)
{
    return bit == FORAGE_ARG_REGION || bit == FORAGE_ARG_USER || bit == FORAGE_ARG_ITEM ||
           bit == FORAGE_ARG_TIMEOUT || bit == FORAGE_ARG_SESSIONS;
}

static int
check_required(const forage_http_args *out, unsigned required, const char *what, char *msg)
{
    for (size_t i = 0; i < NARGS; i++) {
        if ((required & args[i].bit) && !(out->have & args[i].bit)) {
            return bad(msg, "missing %s '%s' (%s)", what, args[i].name, rule(args[i].bit));
        }
    }
    return 0;
}

static int
json_field(forage_http_args *out, const struct arg *a, json_t *v, char *msg)
{
    if (is_int_arg(a->bit)) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            !set_int(out, a->bit, (uint64_t)json_integer_value(v))) {
            return bad(msg, "field '%s' must be %s", a->name, rule(a->bit));
        }
    } else if (!json_is_string(v) ||
               !set_str(out, a->bit, json_string_value(v), json_string_length(v))) {
        return bad(msg, "field '%s' must be %s", a->name, rule(a->bit));
    }
    out->have |= a->bit;
    return 0;
}

int
forage_http_args_json(const char *body, size_t len, unsigned allowed, unsigned required,
                      forage_http_args *out, char *msg)
{
    json_error_t jerr;
    memset(out, 0, sizeof(*out));
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        return bad(msg, "malformed JSON at line %d, column %d: %s", jerr.line, jerr.column,
                   jerr.text);
    }
    int rv = 0;
    if (!json_is_object(root)) {
        rv = bad(msg, "the body must be a JSON object");
        goto done;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        const struct arg *a = find_arg(key, strlen(key));
        if (a == NULL || !(allowed & a->bit)) {
            rv = bad(msg, "unknown field '%.64s'", key);
            goto done;
        }
        if ((rv = json_field(out, a, v, msg)) != 0) {
            goto done;
        }
    }
    rv = check_required(out, required, "field", msg);
done:
    json_decref(root);
    return rv;
}

static int
query_param(forage_http_args *out, const struct arg *a, const char *v, size_t vlen, char *msg)
{
    if (is_int_arg(a->bit)) {
        uint64_t x = 0;
        bool ok = vlen > 0 && vlen <= 16;
        for (size_t i = 0; ok && i < vlen; i++) {
            ok = v[i] >= '0' && v[i] <= '9';
            x = x * 10 + (uint64_t)(v[i] - '0');
        }
        if (!ok || !set_int(out, a->bit, x)) {
            return bad(msg, "parameter '%s' must be %s", a->name, rule(a->bit));
        }
    } else if (!set_str(out, a->bit, v, vlen)) {
        return bad(msg, "parameter '%s' must be %s", a->name, rule(a->bit));
    }
    return 0;
}

int
forage_http_args_query(const char *query, unsigned allowed, unsigned required,
                       forage_http_args *out, char *msg)
{
    memset(out, 0, sizeof(*out));
    const char *p = query;
    while (*p != '\0') {
        size_t plen = strcspn(p, "&");
        const char *eq = memchr(p, '=', plen);
        size_t klen = eq != NULL ? (size_t)(eq - p) : plen;
        const struct arg *a = find_arg(p, klen);
        if (a == NULL || !(allowed & a->bit)) {
            return bad(msg, "unknown parameter '%.*s'", (int)(klen > 64 ? 64 : klen), p);
        }
        if (out->have & a->bit) {
            return bad(msg, "parameter '%s' given twice", a->name);
        }
        const char *v = eq != NULL ? eq + 1 : p + plen;
        int rv = query_param(out, a, v, (size_t)(p + plen - v), msg);
        if (rv != 0) {
            return rv;
        }
        out->have |= a->bit;
        p += plen;
        if (*p == '&') {
            p++;
        }
    }
    return check_required(out, required, "parameter", msg);
}
