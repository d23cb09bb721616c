/*
 * The envelope's encoder and decoder, side by side.  The wire layout and the
 * numbered validity rules are in envelope.h (the contract); this file keeps
 * them.  Field by field, in wire order:
 *
 *   idx  field    written with                      read with (bound)
 *   0    version  msgpack_pack_uint64               uint, == TIDAL_ENVELOPE_VERSION
 *   1    type     msgpack_pack_uint64               uint, 1..65535 and known
 *   2,3  from,to  array 2: str name, bin key        name 1..NAME-1, key 0..KEY
 *   4    id       msgpack_pack_uint64               uint64
 *   5    hlc      array 3: wall, logical, node      uint64, uint32, uint16
 *   6    payload  bin                               0..TIDAL_PAYLOAD_BYTES_MAX
 *   7    reply    nil, or array 3: url, name, key   url 1..URL-1, name and key as 2
 *   8    corr     msgpack_pack_uint64               uint64
 *   9    flags    msgpack_pack_uint64               no bit outside TIDAL_ENV_F_MASK
 *
 * The encoder checks every bound before writing a byte, so what it writes the
 * decoder accepts.  The decoder takes bytes from outside: it never asserts,
 * never allocates, and gives each way an input can be wrong its own code:
 *
 *   input                                          code                 rule
 *   ends anywhere inside the envelope              TIDAL_ETRUNCATED     -
 *   version field not 1 (whatever the arity)       TIDAL_EVERSION       2
 *   not an array of 10, a field of the wrong type  TIDAL_EFIELD         1
 *   type 0, > 65535, or unknown in 1..999          TIDAL_ETYPE          3
 *   str/bin over its bound                         TIDAL_ETOOBIG        4
 *   container count larger than the bytes left     TIDAL_ELENGTH        4
 *     (the expected count, input ending early:     TIDAL_ETRUNCATED)
 *   outer array of more than 64 elements, whole    TIDAL_ETOOBIG        1
 *   an int out of range (hlc logical, hlc node)    TIDAL_EFIELD         1
 *   empty name or url                              TIDAL_EFIELD         1, 5
 *   a flag bit outside the mask                    TIDAL_EFIELD         6
 *   bytes after the envelope (decode_exact only)   TIDAL_ETRAILING      -
 *
 * The version is read before the arity is checked: a future version may have
 * another number of fields, and must be refused as a version, not misread.
 */
#include "messages/envelope.h"
#include "messages/mpwrite.h"

#include "messages/types.h"
#include "tidal/errors.h"
#include "tidal/limits.h"

/* The outer array is accepted up to this many elements while the version is
 * read, so that a future version with more fields reads as TIDAL_EVERSION;
 * far more than any version will need, far less than a bogus length. */
#define ENV_FIELDS_ANY_VERSION_MAX 64u

#define NAME_LEN_MAX (TIDAL_NAME_BYTES_MAX - 1u)
#define URL_LEN_MAX (TIDAL_URL_BYTES_MAX - 1u)

/* The `what` names of one address's fields, for decode errors. */
typedef struct env_addr_what {
    const char *addr;
    const char *name;
    const char *key;
} env_addr_what;

static const env_addr_what from_what = {"envelope.from", "envelope.from.name", "envelope.from.key"};
static const env_addr_what to_what = {"envelope.to", "envelope.to.name", "envelope.to.key"};
static const env_addr_what reply_what = {"envelope.reply", "envelope.reply.name",
                                         "envelope.reply.key"};

/* True if v has min..max bytes and a pointer when it has any. */
static bool
view_ok(tidal_view v, uint32_t min, uint32_t max)
{
    return v.len >= min && v.len <= max && (v.len == 0 || v.ptr != NULL);
}

/* Every bound the decoder checks, checked before anything is written. */
static bool
env_ok(const tidal_envelope *e)
{
    bool ok = tidal_msg_type_known(e->type) && (e->flags & ~TIDAL_ENV_F_MASK) == 0;
    ok = ok && view_ok(e->from_name, 1, NAME_LEN_MAX) &&
         view_ok(e->from_key, 0, TIDAL_KEY_BYTES_MAX);
    ok = ok && view_ok(e->to_name, 1, NAME_LEN_MAX) && view_ok(e->to_key, 0, TIDAL_KEY_BYTES_MAX);
    ok = ok && view_ok(e->payload, 0, TIDAL_PAYLOAD_BYTES_MAX);
    if (ok && e->has_reply) {
        ok = view_ok(e->reply_url, 1, URL_LEN_MAX) && view_ok(e->reply_name, 1, NAME_LEN_MAX) &&
             view_ok(e->reply_key, 0, TIDAL_KEY_BYTES_MAX);
    }
    return ok;
}

/* Packs a str (is_str) or bin view.  Returns msgpack-c's result (0 = ok). */
static int
pack_view(msgpack_packer *pk, bool is_str, tidal_view v)
{
    int rv = is_str ? msgpack_pack_str(pk, v.len) : msgpack_pack_bin(pk, v.len);
    if (rv != 0) {
        return rv;
    }
    return is_str ? msgpack_pack_str_body(pk, v.ptr, v.len)
                  : msgpack_pack_bin_body(pk, v.ptr, v.len);
}

static int
pack_addr(msgpack_packer *pk, tidal_view name, tidal_view key)
{
    int rv = msgpack_pack_array(pk, 2);
    rv = rv != 0 ? rv : pack_view(pk, true, name);
    return rv != 0 ? rv : pack_view(pk, false, key);
}

int
tidal_envelope_pack(msgpack_packer *pk, const tidal_envelope *e)
{
    if (!env_ok(e)) {
        return TIDAL_EINVAL;
    }
    /* Each step runs only if the ones before succeeded: after a failed write
     * the packer's target is not written to again. */
    int rv = msgpack_pack_array(pk, TIDAL_ENVELOPE_FIELDS);
    rv = rv != 0 ? rv : msgpack_pack_uint64(pk, TIDAL_ENVELOPE_VERSION);
    rv = rv != 0 ? rv : msgpack_pack_uint64(pk, e->type);
    rv = rv != 0 ? rv : pack_addr(pk, e->from_name, e->from_key);
    rv = rv != 0 ? rv : pack_addr(pk, e->to_name, e->to_key);
    rv = rv != 0 ? rv : msgpack_pack_uint64(pk, e->id);
    rv = rv != 0 ? rv : msgpack_pack_array(pk, 3);
    rv = rv != 0 ? rv : msgpack_pack_uint64(pk, e->hlc.wall_ns);
    rv = rv != 0 ? rv : msgpack_pack_uint64(pk, e->hlc.logical);
    rv = rv != 0 ? rv : msgpack_pack_uint64(pk, e->hlc.node_id);
    rv = rv != 0 ? rv : pack_view(pk, false, e->payload);
    if (e->has_reply) {
        rv = rv != 0 ? rv : msgpack_pack_array(pk, 3);
        rv = rv != 0 ? rv : pack_view(pk, true, e->reply_url);
        rv = rv != 0 ? rv : pack_view(pk, true, e->reply_name);
        rv = rv != 0 ? rv : pack_view(pk, false, e->reply_key);
    } else {
        rv = rv != 0 ? rv : msgpack_pack_nil(pk);
    }
    rv = rv != 0 ? rv : msgpack_pack_uint64(pk, e->corr);
    rv = rv != 0 ? rv : msgpack_pack_uint64(pk, e->flags);
    return rv == 0 ? 0 : TIDAL_ENOMEM;
}

/* The largest encoding of e's fixed parts plus its variable ones. */
static size_t
encoded_max(const tidal_envelope *e)
{
    size_t n = 1 + 6 * TIDAL_MPW_UINT_MAX_BYTES + 2 + 1 + 4 * TIDAL_MPW_UINT_MAX_BYTES;
    n += 2 * (1 + 2 * TIDAL_MPW_HEADER_MAX_BYTES) + e->from_name.len + e->from_key.len +
         e->to_name.len + e->to_key.len;
    n += TIDAL_MPW_HEADER_MAX_BYTES + e->payload.len;
    n += 1 + 3 * TIDAL_MPW_HEADER_MAX_BYTES + e->reply_url.len + e->reply_name.len +
         e->reply_key.len;
    return n;
}

/* The hot-path encoder: the same bytes as tidal_envelope_pack (msgpack-c),
 * written directly into room reserved once (messages/mpwrite.h). */
int
tidal_envelope_encode(const tidal_envelope *e, tidal_buf *out)
{
    if (!env_ok(e)) {
        return TIDAL_EINVAL;
    }
    if (tidal_buf_reserve(out, encoded_max(e)) != 0) {
        return TIDAL_ENOMEM;
    }
    uint8_t *p = out->data + out->len;
    p = tidal_mpw_array(p, TIDAL_ENVELOPE_FIELDS);
    p = tidal_mpw_uint(p, TIDAL_ENVELOPE_VERSION);
    p = tidal_mpw_uint(p, e->type);
    p = tidal_mpw_array(p, 2);
    p = tidal_mpw_str(p, e->from_name.ptr, e->from_name.len);
    p = tidal_mpw_bin(p, e->from_key.ptr, e->from_key.len);
    p = tidal_mpw_array(p, 2);
    p = tidal_mpw_str(p, e->to_name.ptr, e->to_name.len);
    p = tidal_mpw_bin(p, e->to_key.ptr, e->to_key.len);
    p = tidal_mpw_uint(p, e->id);
    p = tidal_mpw_array(p, 3);
    p = tidal_mpw_uint(p, e->hlc.wall_ns);
    p = tidal_mpw_uint(p, e->hlc.logical);
    p = tidal_mpw_uint(p, e->hlc.node_id);
    p = tidal_mpw_bin(p, e->payload.ptr, e->payload.len);
    if (e->has_reply) {
        p = tidal_mpw_array(p, 3);
        p = tidal_mpw_str(p, e->reply_url.ptr, e->reply_url.len);
        p = tidal_mpw_str(p, e->reply_name.ptr, e->reply_name.len);
        p = tidal_mpw_bin(p, e->reply_key.ptr, e->reply_key.len);
    } else {
        p = tidal_mpw_nil(p);
    }
    p = tidal_mpw_uint(p, e->corr);
    p = tidal_mpw_uint(p, e->flags);
    out->len = (size_t)(p - out->data);
    return 0;
}

/* A name: a str of 1..max bytes (empty is a wrong value, not a wrong type). */
static inline int
read_name(tidal_mpr *r, uint32_t max, tidal_view *v, const char *what)
{
    const uint8_t *at = r->p;
    const char *s = NULL;
    int rv = tidal_mpr_str(r, max, &s, &v->len, what);
    if (rv != 0) {
        return rv;
    }
    if (v->len == 0) {
        r->p = at;
        return tidal_mpr_fail(r, TIDAL_EFIELD, what, 1, 0);
    }
    v->ptr = (const uint8_t *)s;
    return 0;
}

static inline int
read_addr(tidal_mpr *r, tidal_view *name, tidal_view *key, const env_addr_what *w)
{
    int rv = tidal_mpr_array_exact(r, 2, w->addr);
    rv = rv != 0 ? rv : read_name(r, NAME_LEN_MAX, name, w->name);
    return rv != 0 ? rv : tidal_mpr_bin(r, TIDAL_KEY_BYTES_MAX, &key->ptr, &key->len, w->key);
}

static inline int
read_hlc(tidal_mpr *r, tidal_hlc *hlc)
{
    uint64_t logical = 0;
    uint64_t node = 0;
    int rv = tidal_mpr_array_exact(r, 3, "envelope.hlc");
    rv = rv != 0 ? rv : tidal_mpr_uint(r, UINT64_MAX, &hlc->wall_ns, "envelope.hlc.wall");
    rv = rv != 0 ? rv : tidal_mpr_uint(r, UINT32_MAX, &logical, "envelope.hlc.logical");
    rv = rv != 0 ? rv : tidal_mpr_uint(r, UINT16_MAX, &node, "envelope.hlc.node");
    hlc->logical = (uint32_t)logical;
    hlc->node_id = (uint16_t)node;
    return rv;
}

static inline int
read_reply(tidal_mpr *r, tidal_envelope *e)
{
    bool nil;
    int rv = tidal_mpr_nil(r, &nil, reply_what.addr);
    if (rv != 0 || nil) {
        e->has_reply = false;
        e->reply_url = (tidal_view){0};
        e->reply_name = (tidal_view){0};
        e->reply_key = (tidal_view){0};
        return rv;
    }
    e->has_reply = true;
    rv = tidal_mpr_array_exact(r, 3, reply_what.addr);
    rv = rv != 0 ? rv : read_name(r, URL_LEN_MAX, &e->reply_url, "envelope.reply.url");
    rv = rv != 0 ? rv : read_name(r, NAME_LEN_MAX, &e->reply_name, reply_what.name);
    return rv != 0 ? rv
                   : tidal_mpr_bin(r, TIDAL_KEY_BYTES_MAX, &e->reply_key.ptr, &e->reply_key.len,
                                   reply_what.key);
}

/* The array header and the version: rule 2 before rule 1's arity. */
static inline int
read_head(tidal_mpr *r)
{
    uint32_t n = 0;
    uint64_t version = 0;
    int rv = tidal_mpr_array(r, ENV_FIELDS_ANY_VERSION_MAX, &n, "envelope");
    if (rv != 0) {
        return rv;
    }
    if (n == 0) {
        r->p = r->start;
        return tidal_mpr_fail(r, TIDAL_EFIELD, "envelope", TIDAL_ENVELOPE_FIELDS, 0);
    }
    const uint8_t *at = r->p;
    rv = tidal_mpr_uint(r, UINT64_MAX, &version, "envelope.version");
    if (rv != 0) {
        return rv;
    }
    if (version != TIDAL_ENVELOPE_VERSION) {
        r->p = at;
        return tidal_mpr_fail(r, TIDAL_EVERSION, "envelope.version", TIDAL_ENVELOPE_VERSION,
                              version);
    }
    if (n != TIDAL_ENVELOPE_FIELDS) {
        r->p = r->start;
        return tidal_mpr_fail(r, TIDAL_EFIELD, "envelope", TIDAL_ENVELOPE_FIELDS, n);
    }
    return 0;
}

int
tidal_envelope_decode_one(const uint8_t *buf, size_t len, size_t *used, tidal_envelope *e,
                          tidal_decode_err *err)
{
    tidal_mpr r;
    uint64_t type = 0;
    uint64_t flags = 0;
    tidal_mpr_init(&r, buf, len, err);

    int rv = read_head(&r);
    const uint8_t *at = r.p;
    rv = rv != 0 ? rv : tidal_mpr_uint(&r, UINT64_MAX, &type, "envelope.type");
    if (rv == 0 && (type > UINT16_MAX || !tidal_msg_type_known((uint32_t)type))) {
        r.p = at;
        return tidal_mpr_fail(&r, TIDAL_ETYPE, "envelope.type", 0, type);
    }
    rv = rv != 0 ? rv : read_addr(&r, &e->from_name, &e->from_key, &from_what);
    rv = rv != 0 ? rv : read_addr(&r, &e->to_name, &e->to_key, &to_what);
    rv = rv != 0 ? rv : tidal_mpr_uint(&r, UINT64_MAX, &e->id, "envelope.id");
    rv = rv != 0 ? rv : read_hlc(&r, &e->hlc);
    rv = rv != 0 ? rv
                 : tidal_mpr_bin(&r, TIDAL_PAYLOAD_BYTES_MAX, &e->payload.ptr, &e->payload.len,
                                 "envelope.payload");
    rv = rv != 0 ? rv : read_reply(&r, e);
    rv = rv != 0 ? rv : tidal_mpr_uint(&r, UINT64_MAX, &e->corr, "envelope.corr");
    at = r.p;
    rv = rv != 0 ? rv : tidal_mpr_uint(&r, UINT64_MAX, &flags, "envelope.flags");
    if (rv != 0) {
        return rv;
    }
    if ((flags & ~(uint64_t)TIDAL_ENV_F_MASK) != 0) {
        r.p = at;
        return tidal_mpr_fail(&r, TIDAL_EFIELD, "envelope.flags", TIDAL_ENV_F_MASK, flags);
    }
    e->type = (uint16_t)type;
    e->flags = (uint8_t)flags;
    *used = (size_t)(r.p - buf);
    return 0;
}

int
tidal_envelope_decode_exact(const uint8_t *buf, size_t len, tidal_envelope *e,
                            tidal_decode_err *err)
{
    size_t used = 0;
    int rv = tidal_envelope_decode_one(buf, len, &used, e, err);
    if (rv != 0) {
        return rv;
    }
    /* A cursor at the end of the envelope records where the trailing bytes
     * start; err is clear after the successful decode. */
    tidal_mpr r = {.start = buf, .p = buf + used, .end = buf + len, .err = err};
    return tidal_mpr_done(&r, "envelope");
}

bool
tidal_view_eq(tidal_view v, const char *s)
{
    for (uint32_t i = 0; i < v.len; i++) {
        if (s[i] == '\0' || (uint8_t)s[i] != v.ptr[i]) {
            return false;
        }
    }
    return s[v.len] == '\0';
}
