/*
 * WAL records: encoder and decoder side by side.  Layouts and validity rules
 * are in record.h.  The encoder writes with mpwrite.h (the same bytes as
 * msgpack-c's packer); the decoder reads with the bounded mpread.h cursor.
 */
#include "messages/record.h"

#include <string.h>

#include "messages/mpwrite.h"
#include "tidal/errors.h"

#define HLC_BYTES_MAX (1 + 9 + 5 + 3)

/* Fields per kind, the kind included. */
static int
arity(uint32_t kind)
{
    switch (kind) {
    case TIDAL_REC_SESSION_START:
        return 5;
    case TIDAL_REC_SESSION_SIGNAL:
        return 10; /* 11 with a stamp: signal_arity */
    case TIDAL_REC_SESSION_END:
        return 3;
    case TIDAL_REC_SESSION_HOME:
        return 5;
    case TIDAL_REC_HIDE:
    case TIDAL_REC_UNHIDE:
        return 4;
    case TIDAL_REC_USER_COUNTER:
        return 6;
    default:
        return -1;
    }
}

static bool
hlc_zero(const tidal_hlc *h)
{
    return h->wall_ns == 0 && h->logical == 0 && h->node_id == 0;
}

/* Fields of r's encoding: a SIGNAL's stamp is left out when zero. */
static int
fields_of(const tidal_record *r)
{
    int n = arity(r->kind);
    return r->kind == TIDAL_REC_SESSION_SIGNAL && !hlc_zero(&r->hlc) ? n + 1 : n;
}

const char *
tidal_record_kind_name(uint32_t kind)
{
    switch (kind) {
#define TIDAL__RECORD_KIND_NAME(name, n)                                                   \
    case n:                                                                                \
        return #name;
        TIDAL_RECORD_KIND_MAP(TIDAL__RECORD_KIND_NAME)
#undef TIDAL__RECORD_KIND_NAME
    default:
        return NULL;
    }
}

static uint8_t *
put_hlc(uint8_t *p, const tidal_hlc *h)
{
    p = tidal_mpw_array(p, 3);
    p = tidal_mpw_uint(p, h->wall_ns);
    p = tidal_mpw_uint(p, h->logical);
    return tidal_mpw_uint(p, h->node_id);
}

/* The decoder's rules for a USER_COUNTER, checked before it is written. */
static bool
user_counter_valid(const tidal_record *r, size_t klen)
{
    return klen >= 1 && klen <= TIDAL_USER_COUNTER_KEY_BYTES_MAX && r->region < TIDAL_REGIONS_MAX &&
           (r->cp != 0 || r->cn != 0);
}

int
tidal_record_encode(const tidal_record *r, tidal_buf *out)
{
    int n = fields_of(r);
    size_t tlen = strnlen(r->type, sizeof(r->type));
    size_t klen = strnlen(r->key, sizeof(r->key));
    if (n < 0 || (r->kind == TIDAL_REC_SESSION_SIGNAL &&
                  (tlen == 0 || tlen > TIDAL_SIGNAL_TYPE_BYTES_MAX || r->seqno == 0))) {
        return TIDAL_EINVAL;
    }
    if (r->kind == TIDAL_REC_USER_COUNTER && !user_counter_valid(r, klen)) {
        return TIDAL_EINVAL;
    }
    /* every field's largest encoding: 10 uints, a 16-byte bin, a type, an hlc */
    if (tidal_buf_reserve(out, 1 + 10 * 9 + 18 + 1 + tlen + 1 + klen + HLC_BYTES_MAX) != 0) {
        return TIDAL_ENOMEM;
    }
    uint8_t *p = out->data + out->len;
    p = tidal_mpw_array(p, (uint32_t)n);
    p = tidal_mpw_uint(p, r->kind);
    switch (r->kind) {
    case TIDAL_REC_SESSION_START:
        p = tidal_mpw_bin(p, r->sid, 16);
        p = tidal_mpw_uint(p, r->user);
        p = tidal_mpw_uint(p, r->region);
        p = put_hlc(p, &r->hlc);
        break;
    case TIDAL_REC_SESSION_SIGNAL:
        p = tidal_mpw_bin(p, r->sid, 16);
        p = tidal_mpw_uint(p, r->seqno);
        p = tidal_mpw_str(p, r->type, (uint32_t)tlen);
        p = tidal_mpw_uint(p, r->item);
        p = tidal_mpw_double(p, r->weight);
        p = tidal_mpw_uint(p, r->ts_ns);
        p = tidal_mpw_uint(p, r->region);
        p = tidal_mpw_uint(p, r->p_minute);
        p = tidal_mpw_uint(p, r->p_hour);
        if (n == 11) {
            p = put_hlc(p, &r->hlc);
        }
        break;
    case TIDAL_REC_SESSION_END:
        p = tidal_mpw_bin(p, r->sid, 16);
        p = put_hlc(p, &r->hlc);
        break;
    case TIDAL_REC_SESSION_HOME:
        p = tidal_mpw_bin(p, r->sid, 16);
        p = tidal_mpw_uint(p, r->region);
        p = tidal_mpw_uint(p, r->seqno);
        p = put_hlc(p, &r->hlc);
        break;
    case TIDAL_REC_USER_COUNTER:
        p = tidal_mpw_uint(p, r->user);
        p = tidal_mpw_str(p, r->key, (uint32_t)klen);
        p = tidal_mpw_uint(p, r->region);
        p = tidal_mpw_uint(p, r->cp);
        p = tidal_mpw_uint(p, r->cn);
        break;
    default: /* HIDE, UNHIDE */
        p = tidal_mpw_uint(p, r->user);
        p = tidal_mpw_uint(p, r->item);
        p = put_hlc(p, &r->hlc);
        break;
    }
    out->len = (size_t)(p - out->data);
    return 0;
}

static int
get_hlc(tidal_mpr *m, tidal_hlc *h)
{
    uint64_t wall = 0, logical = 0, node = 0;
    int rv = tidal_mpr_array_exact(m, 3, "record.hlc");
    rv = rv != 0 ? rv : tidal_mpr_uint(m, UINT64_MAX, &wall, "record.hlc.wall");
    rv = rv != 0 ? rv : tidal_mpr_uint(m, UINT32_MAX, &logical, "record.hlc.logical");
    rv = rv != 0 ? rv : tidal_mpr_uint(m, UINT16_MAX, &node, "record.hlc.node");
    if (rv == 0) {
        *h = (tidal_hlc){wall, (uint32_t)logical, (uint16_t)node};
    }
    return rv;
}

static int
get_sid(tidal_mpr *m, uint8_t sid[16])
{
    const uint8_t *b = NULL;
    uint32_t n = 0;
    int rv = tidal_mpr_bin(m, 16, &b, &n, "record.sid");
    if (rv == 0 && n != 16) {
        return tidal_mpr_fail(m, TIDAL_EFIELD, "record.sid", 16, n);
    }
    if (rv == 0) {
        memcpy(sid, b, 16);
    }
    return rv;
}

static int
get_u16(tidal_mpr *m, uint16_t *v, const char *what)
{
    uint64_t x = 0;
    int rv = tidal_mpr_uint(m, UINT16_MAX, &x, what);
    *v = (uint16_t)x;
    return rv;
}

static int
decode_signal(tidal_mpr *m, tidal_record *r, bool stamped)
{
    const char *type = NULL;
    uint32_t tlen = 0;
    int rv = get_sid(m, r->sid);
    rv = rv != 0 ? rv : tidal_mpr_uint(m, UINT64_MAX, &r->seqno, "record.seqno");
    if (rv == 0 && r->seqno == 0) {
        return tidal_mpr_fail(m, TIDAL_EFIELD, "record.seqno", 1, 0);
    }
    rv = rv != 0 ? rv : tidal_mpr_str(m, TIDAL_SIGNAL_TYPE_BYTES_MAX, &type, &tlen, "record.type");
    if (rv == 0 && tlen == 0) {
        return tidal_mpr_fail(m, TIDAL_EFIELD, "record.type", 1, 0);
    }
    /* r->type is a C string: a NUL inside would cut the name short, so the
     * record applied (and re-encoded) would not be the record read. */
    const char *nul = rv == 0 ? memchr(type, '\0', tlen) : NULL;
    if (nul != NULL) {
        return tidal_mpr_fail(m, TIDAL_EFIELD, "record.type", tlen, (uint64_t)(nul - type));
    }
    if (rv == 0) {
        memcpy(r->type, type, tlen);
        r->type[tlen] = '\0';
    }
    rv = rv != 0 ? rv : tidal_mpr_uint(m, UINT64_MAX, &r->item, "record.item");
    rv = rv != 0 ? rv : tidal_mpr_double(m, &r->weight, "record.weight");
    rv = rv != 0 ? rv : tidal_mpr_uint(m, UINT64_MAX, &r->ts_ns, "record.ts_ns");
    rv = rv != 0 ? rv : get_u16(m, &r->region, "record.origin");
    rv = rv != 0 ? rv : tidal_mpr_uint(m, UINT64_MAX, &r->p_minute, "record.p_minute");
    rv = rv != 0 ? rv : tidal_mpr_uint(m, UINT64_MAX, &r->p_hour, "record.p_hour");
    if (rv != 0 || !stamped) {
        return rv;
    }
    if ((rv = get_hlc(m, &r->hlc)) == 0 && hlc_zero(&r->hlc)) {
        /* a zero stamp is written by leaving it out: one encoding each */
        return tidal_mpr_fail(m, TIDAL_EFIELD, "record.hlc", 1, 0);
    }
    return rv;
}

static int
decode_user_counter(tidal_mpr *m, tidal_record *r)
{
    const char *key = NULL;
    uint32_t klen = 0;
    int rv = tidal_mpr_uint(m, UINT64_MAX, &r->user, "record.user");
    rv = rv != 0 ? rv
                 : tidal_mpr_str(m, TIDAL_USER_COUNTER_KEY_BYTES_MAX, &key, &klen, "record.key");
    if (rv == 0 && klen == 0) {
        return tidal_mpr_fail(m, TIDAL_EFIELD, "record.key", 1, 0);
    }
    /* a C string, as a SIGNAL's type: a NUL inside would cut it short */
    const char *nul = rv == 0 ? memchr(key, '\0', klen) : NULL;
    if (nul != NULL) {
        return tidal_mpr_fail(m, TIDAL_EFIELD, "record.key", klen, (uint64_t)(nul - key));
    }
    if (rv == 0) {
        memcpy(r->key, key, klen);
        r->key[klen] = '\0';
    }
    rv = rv != 0 ? rv : get_u16(m, &r->region, "record.origin");
    if (rv == 0 && r->region >= TIDAL_REGIONS_MAX) {
        return tidal_mpr_fail(m, TIDAL_EFIELD, "record.origin", TIDAL_REGIONS_MAX - 1, r->region);
    }
    rv = rv != 0 ? rv : tidal_mpr_uint(m, UINT64_MAX, &r->cp, "record.p");
    rv = rv != 0 ? rv : tidal_mpr_uint(m, UINT64_MAX, &r->cn, "record.n");
    if (rv == 0 && r->cp == 0 && r->cn == 0) {
        /* a write of 0 is never logged: a component is never (0, 0) */
        return tidal_mpr_fail(m, TIDAL_EFIELD, "record.p", 1, 0);
    }
    return rv;
}

static int
decode_body(tidal_mpr *m, tidal_record *r, uint32_t fields)
{
    int rv;
    switch (r->kind) {
    case TIDAL_REC_SESSION_START:
        rv = get_sid(m, r->sid);
        rv = rv != 0 ? rv : tidal_mpr_uint(m, UINT64_MAX, &r->user, "record.user");
        rv = rv != 0 ? rv : get_u16(m, &r->region, "record.home");
        return rv != 0 ? rv : get_hlc(m, &r->hlc);
    case TIDAL_REC_SESSION_SIGNAL:
        return decode_signal(m, r, fields == 11);
    case TIDAL_REC_SESSION_END:
        rv = get_sid(m, r->sid);
        return rv != 0 ? rv : get_hlc(m, &r->hlc);
    case TIDAL_REC_SESSION_HOME:
        rv = get_sid(m, r->sid);
        rv = rv != 0 ? rv : get_u16(m, &r->region, "record.home");
        rv = rv != 0 ? rv : tidal_mpr_uint(m, UINT64_MAX, &r->seqno, "record.next_seqno");
        return rv != 0 ? rv : get_hlc(m, &r->hlc);
    case TIDAL_REC_USER_COUNTER:
        return decode_user_counter(m, r);
    default: /* HIDE, UNHIDE */
        rv = tidal_mpr_uint(m, UINT64_MAX, &r->user, "record.user");
        rv = rv != 0 ? rv : tidal_mpr_uint(m, UINT64_MAX, &r->item, "record.item");
        return rv != 0 ? rv : get_hlc(m, &r->hlc);
    }
}

int
tidal_record_decode_one(const uint8_t *buf, size_t len, size_t *used, tidal_record *r,
                        tidal_decode_err *err)
{
    tidal_mpr m;
    uint32_t n = 0;
    uint64_t kind = 0;
    tidal_mpr_init(&m, buf, len, err);
    memset(r, 0, sizeof(*r));
    int rv = tidal_mpr_array(&m, 11, &n, "record");
    rv = rv != 0 ? rv : (n == 0 ? tidal_mpr_fail(&m, TIDAL_EFIELD, "record", 1, 0) : 0);
    rv = rv != 0 ? rv : tidal_mpr_uint(&m, UINT8_MAX, &kind, "record.kind");
    if (rv != 0) {
        return rv;
    }
    if (arity((uint32_t)kind) < 0) {
        return tidal_mpr_fail(&m, TIDAL_ETYPE, "record.kind", 0, kind);
    }
    bool stamped_signal = kind == TIDAL_REC_SESSION_SIGNAL && n == 11;
    if ((int)n != arity((uint32_t)kind) && !stamped_signal) {
        return tidal_mpr_fail(&m, TIDAL_EFIELD, "record", (uint64_t)arity((uint32_t)kind), n);
    }
    r->kind = (uint8_t)kind;
    if ((rv = decode_body(&m, r, n)) != 0) {
        return rv;
    }
    *used = (size_t)(m.p - m.start);
    return 0;
}

int
tidal_record_decode_exact(const uint8_t *buf, size_t len, tidal_record *r, tidal_decode_err *err)
{
    size_t used = 0;
    int rv = tidal_record_decode_one(buf, len, &used, r, err);
    if (rv == 0 && used != len) {
        tidal_mpr m;
        tidal_mpr_init(&m, buf, len, err);
        m.p = buf + used;
        return tidal_mpr_fail(&m, TIDAL_ETRAILING, "record", len, used);
    }
    return rv;
}
