/*
 * libFuzzer target for Forage's request arguments (apps/forage/http_args.c),
 * the app's one reader of bytes that come straight from HTTP clients: a
 * GET's query string (forage_http_args_query) and a POST's JSON body
 * (forage_http_args_json, through jansson).
 *
 * Input: 5 bytes of structure, then the query or the body.  Byte 0 bit 0
 * picks the parser (0: query, 1: JSON); bytes 1-2 and 3-4 are the `allowed`
 * and `required` masks (little-endian, FORAGE_ARG_* bits, the rest ignored).
 * The query is handed over as the server does, a C string (it ends at the
 * first NUL); the body as (body, len), at most FORAGE_HTTP_BODY_BYTES_MAX
 * bytes, with no NUL after it.  Both sit in allocations of their exact size,
 * and the message in one of FORAGE_HTTP_MSG_BYTES, so ASan sees a read or
 * write past any of them.
 *
 * What must hold for any input (a failure aborts):
 *  - the parser returns 0 or 400; a 400 leaves a message, NUL-terminated
 *    inside its FORAGE_HTTP_MSG_BYTES and not empty;
 *  - what parses holds only allowed arguments and every required one, each
 *    in its range (http_internal.h): region below FORAGE_APP_REGIONS_MAX,
 *    user and item at most FORAGE_HTTP_USER_MAX, an answer, a timeout of 1
 *    to FORAGE_HTTP_WAIT_MS, 1 to FORAGE_HTTP_EXPORT_SESSIONS_MAX sessions;
 *  - the two parsers agree: the arguments written back as a query (in
 *    either order) and as a JSON object parse, with the same masks, to the
 *    same arguments.
 *
 * tidal__fuzz_forage_args_one returns 0, or TIDAL_EINVAL for a 400;
 * tests/test_fuzz_forage_args.c replays fuzz/corpus/forage_args through it.
 */
#include "fuzz/fuzz_common.h"

#include <inttypes.h>

#include "apps/forage/export.h"
#include "apps/forage/http_internal.h"

int tidal__fuzz_forage_args_one(const uint8_t *data, size_t size);

#define ARGS_JSON 0x01u
#define ARGS_HEAD 5u
#define ARGS_ALL 0x1ffu /* every FORAGE_ARG_* bit */

/* Room for every argument written back: names, 20-digit integers, two
 * session ids, a version, quotes and separators. */
#define ARGS_TEXT_BYTES 512

static const char *const arg_names[] = {"region", "user",    "session", "item",    "answer",
                                        "since",  "timeout", "after",   "sessions"};
#define ARG_COUNT (sizeof(arg_names) / sizeof(arg_names[0]))
_Static_assert(ARGS_ALL == (1u << ARG_COUNT) - 1, "one name per FORAGE_ARG_* bit");

static bool
args_same(const forage_http_args *a, const forage_http_args *b)
{
    unsigned h = a->have;
    return a->have == b->have && (!(h & FORAGE_ARG_REGION) || a->region == b->region) &&
           (!(h & FORAGE_ARG_USER) || a->user == b->user) &&
           (!(h & FORAGE_ARG_SESSION) ||
            (a->session.hi == b->session.hi && a->session.lo == b->session.lo)) &&
           (!(h & FORAGE_ARG_ITEM) || a->item == b->item) &&
           (!(h & FORAGE_ARG_ANSWER) || a->answer == b->answer) &&
           (!(h & FORAGE_ARG_SINCE) || a->since == b->since) &&
           (!(h & FORAGE_ARG_TIMEOUT) || a->timeout == b->timeout) &&
           (!(h & FORAGE_ARG_AFTER) ||
            (a->after.hi == b->after.hi && a->after.lo == b->after.lo)) &&
           (!(h & FORAGE_ARG_SESSIONS) || a->sessions == b->sessions);
}

/* What http_internal.h promises of arguments that parsed. */
static void
args_valid(const forage_http_args *a, unsigned allowed, unsigned required)
{
    FUZZ_CHECK((a->have & ~allowed) == 0);
    FUZZ_CHECK((required & ~a->have) == 0);
    if (a->have & FORAGE_ARG_REGION) {
        FUZZ_CHECK(a->region < FORAGE_APP_REGIONS_MAX);
    }
    if (a->have & FORAGE_ARG_USER) {
        FUZZ_CHECK(a->user <= FORAGE_HTTP_USER_MAX);
    }
    if (a->have & FORAGE_ARG_ITEM) {
        FUZZ_CHECK(a->item <= FORAGE_HTTP_USER_MAX);
    }
    if (a->have & FORAGE_ARG_ANSWER) {
        FUZZ_CHECK(a->answer >= 0 && a->answer < FORAGE_ANSWERS);
    }
    if (a->have & FORAGE_ARG_TIMEOUT) {
        FUZZ_CHECK(a->timeout >= 1 && a->timeout <= FORAGE_HTTP_WAIT_MS);
    }
    if (a->have & FORAGE_ARG_SESSIONS) {
        FUZZ_CHECK(a->sessions >= 1 && a->sessions <= FORAGE_HTTP_EXPORT_SESSIONS_MAX);
    }
}

/* Argument i's value as the query writes it (JSON quotes the strings). */
static bool
arg_text(const forage_http_args *a, size_t i, char *out, size_t cap)
{
    char hex[33];
    switch (1u << i) {
    case FORAGE_ARG_REGION:
        (void)snprintf(out, cap, "%" PRIu32, a->region);
        return false;
    case FORAGE_ARG_USER:
        (void)snprintf(out, cap, "%" PRIu64, a->user);
        return false;
    case FORAGE_ARG_SESSION:
        forage_export_session_hex(a->session, hex);
        break;
    case FORAGE_ARG_ITEM:
        (void)snprintf(out, cap, "%" PRIu64, a->item);
        return false;
    case FORAGE_ARG_ANSWER:
        (void)snprintf(out, cap, "%s", forage_answer_type(a->answer));
        return true;
    case FORAGE_ARG_SINCE:
        forage_http_version_hex(a->since, hex);
        break;
    case FORAGE_ARG_TIMEOUT:
        (void)snprintf(out, cap, "%" PRIu32, a->timeout);
        return false;
    case FORAGE_ARG_AFTER:
        forage_export_session_hex(a->after, hex);
        break;
    default:
        (void)snprintf(out, cap, "%" PRIu32, a->sessions);
        return false;
    }
    (void)snprintf(out, cap, "%s", hex);
    return true;
}

/* The arguments a holds, written back as a query (backwards: last first) or
 * as a JSON object. */
static void
args_write(const forage_http_args *a, bool json, bool backwards, char *out)
{
    size_t len = 0;
    bool first = true;
    char v[40];
    if (json) {
        out[len++] = '{';
    }
    for (size_t k = 0; k < ARG_COUNT; k++) {
        size_t i = backwards ? ARG_COUNT - 1 - k : k;
        if (!(a->have & 1u << i)) {
            continue;
        }
        bool str = arg_text(a, i, v, sizeof(v));
        const char *sep = first ? "" : json ? "," : "&";
        int n = json ? snprintf(out + len, ARGS_TEXT_BYTES - len, "%s\"%s\":%s%s%s", sep,
                                arg_names[i], str ? "\"" : "", v, str ? "\"" : "")
                     : snprintf(out + len, ARGS_TEXT_BYTES - len, "%s%s=%s", sep, arg_names[i], v);
        FUZZ_CHECK(n > 0 && (size_t)n < ARGS_TEXT_BYTES - len);
        len += (size_t)n;
        first = false;
    }
    if (json) {
        FUZZ_CHECK(len + 2 <= ARGS_TEXT_BYTES);
        out[len++] = '}';
    }
    out[len] = '\0';
}

/* One parse: the result is 0 or 400, a 400 leaves a message in msg. */
static int
parse(bool json, const char *text, size_t len, unsigned allowed, unsigned required,
      forage_http_args *out, char *msg)
{
    memset(msg, 0xa5, FORAGE_HTTP_MSG_BYTES);
    int st = json ? forage_http_args_json(text, len, allowed, required, out, msg)
                  : forage_http_args_query(text, allowed, required, out, msg);
    FUZZ_CHECK(st == 0 || st == 400);
    if (st != 0) {
        FUZZ_CHECK(memchr(msg, '\0', FORAGE_HTTP_MSG_BYTES) != NULL);
        FUZZ_CHECK(msg[0] != '\0');
    }
    return st;
}

/* The arguments that parsed, written back each way, parse the same. */
static void
args_round_trip(const forage_http_args *a, unsigned allowed, unsigned required, char *msg)
{
    char text[ARGS_TEXT_BYTES];
    forage_http_args b;
    for (int form = 0; form < 3; form++) {
        bool json = form == 2;
        args_write(a, json, form == 1, text);
        if (parse(json, text, strlen(text), allowed, required, &b, msg) != 0) {
            fprintf(stderr, "fuzz: '%s' refused: %s\n", text, msg);
            FUZZ_CHECK(!"written-back arguments parse");
        }
        FUZZ_CHECK(args_same(a, &b));
    }
}

int
tidal__fuzz_forage_args_one(const uint8_t *data, size_t size)
{
    if (size < ARGS_HEAD) {
        return 0;
    }
    bool json = data[0] & ARGS_JSON;
    unsigned allowed = fuzz_le16(data + 1) & ARGS_ALL;
    unsigned required = fuzz_le16(data + 3) & ARGS_ALL;
    const uint8_t *p = data + ARGS_HEAD;
    size_t len = size - ARGS_HEAD;
    if (json && len > FORAGE_HTTP_BODY_BYTES_MAX) {
        len = FORAGE_HTTP_BODY_BYTES_MAX; /* the server reads no more */
    }

    /* The body exactly as long as it is; the query with its NUL. */
    char *text = malloc(len + !json + (len == 0));
    char *msg = malloc(FORAGE_HTTP_MSG_BYTES);
    FUZZ_CHECK(text != NULL && msg != NULL);
    if (len != 0) {
        memcpy(text, p, len);
    }
    if (!json) {
        text[len] = '\0';
    }

    forage_http_args a;
    int st = parse(json, text, len, allowed, required, &a, msg);
    if (st == 0) {
        args_valid(&a, allowed, required);
        args_round_trip(&a, allowed, required, msg);
    }
    free(text);
    free(msg);
    return st == 0 ? 0 : TIDAL_EINVAL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)tidal__fuzz_forage_args_one(data, size); /* any result is fine; only checks abort */
    return 0;
}
