/*
 * Replication payloads: encoders and decoders side by side.  Layouts and
 * bounds are in msg_repl.h.  Encoders write with mpwrite.h into room reserved
 * once; decoders read with the bounded mpread.h cursor and end with
 * tidal_mpr_done (no trailing bytes).
 */
#include "messages/msg_repl.h"

#include <string.h>

#include "messages/mpwrite.h"

#define URL_LEN_MAX (TIDAL_URL_BYTES_MAX - 1u)

/* Reserves room for `fixed` bytes of small fields plus `var` of views. */
static uint8_t *
begin(tidal_buf *out, size_t fixed, size_t var)
{
    if (tidal_buf_reserve(out, fixed + var) != 0) {
        return NULL;
    }
    return out->data + out->len;
}

static int
finish(tidal_buf *out, uint8_t *p)
{
    out->len = (size_t)(p - out->data);
    return 0;
}

static int
get_u16(tidal_mpr *r, uint16_t *v, const char *what)
{
    uint64_t x = 0;
    int rv = tidal_mpr_uint(r, UINT16_MAX, &x, what);
    *v = (uint16_t)x;
    return rv;
}

static int
get_u32(tidal_mpr *r, uint32_t *v, const char *what)
{
    uint64_t x = 0;
    int rv = tidal_mpr_uint(r, UINT32_MAX, &x, what);
    *v = (uint32_t)x;
    return rv;
}

static int
get_bin(tidal_mpr *r, uint32_t max, tidal_view *v, const char *what)
{
    return tidal_mpr_bin(r, max, &v->ptr, &v->len, what);
}

static int
get_url(tidal_mpr *r, tidal_view *v, const char *what)
{
    const char *s = NULL;
    int rv = tidal_mpr_str(r, URL_LEN_MAX, &s, &v->len, what);
    v->ptr = (const uint8_t *)s;
    if (rv == 0 && v->len == 0) {
        return tidal_mpr_fail(r, TIDAL_EFIELD, what, 1, 0);
    }
    return rv;
}

static int
get_sid(tidal_mpr *r, uint8_t sid[16], const char *what)
{
    tidal_view v = {0};
    int rv = get_bin(r, 16, &v, what);
    if (rv == 0 && v.len != 16) {
        return tidal_mpr_fail(r, TIDAL_EFIELD, what, 16, v.len);
    }
    if (rv == 0) {
        memcpy(sid, v.ptr, 16);
    }
    return rv;
}

/* ---- BATCH ---- */
int
tidal_msg_batch_encode(const tidal_msg_batch *m, tidal_buf *out)
{
    if (m->batch.len > TIDAL_REPL_BATCH_BYTES_MAX || (m->batch.len > 0 && !m->batch.ptr)) {
        return TIDAL_EINVAL;
    }
    uint8_t *p = begin(out, 32, m->batch.len);
    if (p == NULL) {
        return TIDAL_ENOMEM;
    }
    p = tidal_mpw_array(p, 3);
    p = tidal_mpw_uint(p, m->origin);
    p = tidal_mpw_uint(p, m->shard);
    p = tidal_mpw_bin(p, m->batch.ptr, m->batch.len);
    return finish(out, p);
}

int
tidal_msg_batch_decode(const uint8_t *buf, size_t len, tidal_msg_batch *m, tidal_decode_err *err)
{
    tidal_mpr r;
    tidal_mpr_init(&r, buf, len, err);
    int rv = tidal_mpr_array_exact(&r, 3, "batch");
    rv = rv != 0 ? rv : get_u16(&r, &m->origin, "batch.origin");
    rv = rv != 0 ? rv : get_u16(&r, &m->shard, "batch.shard");
    rv = rv != 0 ? rv : get_bin(&r, TIDAL_REPL_BATCH_BYTES_MAX, &m->batch, "batch.batch");
    return rv != 0 ? rv : tidal_mpr_done(&r, "batch");
}

/* ---- ACK ---- */
int
tidal_msg_ack_encode(const tidal_msg_ack *m, tidal_buf *out)
{
    uint8_t *p = begin(out, 32, 0);
    if (p == NULL) {
        return TIDAL_ENOMEM;
    }
    p = tidal_mpw_array(p, 3);
    p = tidal_mpw_uint(p, m->origin);
    p = tidal_mpw_uint(p, m->shard);
    p = tidal_mpw_uint(p, m->applied_lsn);
    return finish(out, p);
}

int
tidal_msg_ack_decode(const uint8_t *buf, size_t len, tidal_msg_ack *m, tidal_decode_err *err)
{
    tidal_mpr r;
    tidal_mpr_init(&r, buf, len, err);
    int rv = tidal_mpr_array_exact(&r, 3, "ack");
    rv = rv != 0 ? rv : get_u16(&r, &m->origin, "ack.origin");
    rv = rv != 0 ? rv : get_u16(&r, &m->shard, "ack.shard");
    rv = rv != 0 ? rv : tidal_mpr_uint(&r, UINT64_MAX, &m->applied_lsn, "ack.applied_lsn");
    return rv != 0 ? rv : tidal_mpr_done(&r, "ack");
}

/* ---- CLOCK ---- */
int
tidal_msg_clock_encode(const tidal_msg_clock *m, tidal_buf *out)
{
    uint8_t *p = begin(out, 16, 0);
    if (p == NULL) {
        return TIDAL_ENOMEM;
    }
    p = tidal_mpw_array(p, 1);
    p = tidal_mpw_uint(p, m->wall_ns);
    return finish(out, p);
}

int
tidal_msg_clock_decode(const uint8_t *buf, size_t len, tidal_msg_clock *m, tidal_decode_err *err)
{
    tidal_mpr r;
    tidal_mpr_init(&r, buf, len, err);
    int rv = tidal_mpr_array_exact(&r, 1, "clock");
    rv = rv != 0 ? rv : tidal_mpr_uint(&r, UINT64_MAX, &m->wall_ns, "clock.wall_ns");
    return rv != 0 ? rv : tidal_mpr_done(&r, "clock");
}

/* ---- PEER ---- */
static bool
url_ok(tidal_view v)
{
    return v.len >= 1 && v.len <= URL_LEN_MAX && v.ptr != NULL;
}

int
tidal_msg_peer_encode(const tidal_msg_peer *m, tidal_buf *out)
{
    if (!url_ok(m->region_url) || !url_ok(m->shipper_url) || !url_ok(m->reconciler_url)) {
        return TIDAL_EINVAL;
    }
    uint8_t *p = begin(out, 32, m->region_url.len + m->shipper_url.len + m->reconciler_url.len);
    if (p == NULL) {
        return TIDAL_ENOMEM;
    }
    p = tidal_mpw_array(p, 4);
    p = tidal_mpw_uint(p, m->region);
    p = tidal_mpw_str(p, m->region_url.ptr, m->region_url.len);
    p = tidal_mpw_str(p, m->shipper_url.ptr, m->shipper_url.len);
    p = tidal_mpw_str(p, m->reconciler_url.ptr, m->reconciler_url.len);
    return finish(out, p);
}

int
tidal_msg_peer_decode(const uint8_t *buf, size_t len, tidal_msg_peer *m, tidal_decode_err *err)
{
    tidal_mpr r;
    tidal_mpr_init(&r, buf, len, err);
    int rv = tidal_mpr_array_exact(&r, 4, "peer");
    rv = rv != 0 ? rv : get_u16(&r, &m->region, "peer.region");
    rv = rv != 0 ? rv : get_url(&r, &m->region_url, "peer.region_url");
    rv = rv != 0 ? rv : get_url(&r, &m->shipper_url, "peer.shipper_url");
    rv = rv != 0 ? rv : get_url(&r, &m->reconciler_url, "peer.reconciler_url");
    return rv != 0 ? rv : tidal_mpr_done(&r, "peer");
}

/* ---- WRITE ---- */
int
tidal_msg_write_encode(const tidal_msg_write *m, tidal_buf *out)
{
    if (m->record.len == 0 || m->record.len > TIDAL_REPL_RECORD_BYTES_MAX || !m->record.ptr) {
        return TIDAL_EINVAL;
    }
    uint8_t *p = begin(out, 32, m->record.len);
    if (p == NULL) {
        return TIDAL_ENOMEM;
    }
    p = tidal_mpw_array(p, 2);
    p = tidal_mpw_uint(p, m->req_id);
    p = tidal_mpw_bin(p, m->record.ptr, m->record.len);
    return finish(out, p);
}

int
tidal_msg_write_decode(const uint8_t *buf, size_t len, tidal_msg_write *m, tidal_decode_err *err)
{
    tidal_mpr r;
    tidal_mpr_init(&r, buf, len, err);
    int rv = tidal_mpr_array_exact(&r, 2, "write");
    rv = rv != 0 ? rv : tidal_mpr_uint(&r, UINT64_MAX, &m->req_id, "write.req_id");
    rv = rv != 0 ? rv : get_bin(&r, TIDAL_REPL_RECORD_BYTES_MAX, &m->record, "write.record");
    if (rv == 0 && m->record.len == 0) {
        return tidal_mpr_fail(&r, TIDAL_EFIELD, "write.record", 1, 0);
    }
    return rv != 0 ? rv : tidal_mpr_done(&r, "write");
}

/* ---- WRITE_RESULT ---- */
int
tidal_msg_write_result_encode(const tidal_msg_write_result *m, tidal_buf *out)
{
    uint8_t *p = begin(out, 40, 0);
    if (p == NULL) {
        return TIDAL_ENOMEM;
    }
    p = tidal_mpw_array(p, 4);
    p = tidal_mpw_uint(p, m->code);
    p = tidal_mpw_uint(p, m->seqno);
    p = tidal_mpw_uint(p, m->lsn);
    p = tidal_mpw_uint(p, m->shard);
    return finish(out, p);
}

int
tidal_msg_write_result_decode(const uint8_t *buf, size_t len, tidal_msg_write_result *m,
                              tidal_decode_err *err)
{
    tidal_mpr r;
    tidal_mpr_init(&r, buf, len, err);
    int rv = tidal_mpr_array_exact(&r, 4, "write_result");
    rv = rv != 0 ? rv : get_u32(&r, &m->code, "write_result.code");
    rv = rv != 0 ? rv : tidal_mpr_uint(&r, UINT64_MAX, &m->seqno, "write_result.seqno");
    rv = rv != 0 ? rv : tidal_mpr_uint(&r, UINT64_MAX, &m->lsn, "write_result.lsn");
    rv = rv != 0 ? rv : get_u16(&r, &m->shard, "write_result.shard");
    return rv != 0 ? rv : tidal_mpr_done(&r, "write_result");
}

/* ---- HANDOVER_REQ / HANDOVER ---- */
int
tidal_msg_handover_req_encode(const tidal_msg_handover_req *m, tidal_buf *out)
{
    uint8_t *p = begin(out, 32, 16);
    if (p == NULL) {
        return TIDAL_ENOMEM;
    }
    p = tidal_mpw_array(p, 2);
    p = tidal_mpw_bin(p, m->sid, 16);
    p = tidal_mpw_uint(p, m->to_region);
    return finish(out, p);
}

int
tidal_msg_handover_req_decode(const uint8_t *buf, size_t len, tidal_msg_handover_req *m,
                              tidal_decode_err *err)
{
    tidal_mpr r;
    tidal_mpr_init(&r, buf, len, err);
    int rv = tidal_mpr_array_exact(&r, 2, "handover_req");
    rv = rv != 0 ? rv : get_sid(&r, m->sid, "handover_req.sid");
    rv = rv != 0 ? rv : get_u16(&r, &m->to_region, "handover_req.to_region");
    return rv != 0 ? rv : tidal_mpr_done(&r, "handover_req");
}

int
tidal_msg_handover_encode(const tidal_msg_handover *m, tidal_buf *out)
{
    uint8_t *p = begin(out, 32, 16);
    if (p == NULL) {
        return TIDAL_ENOMEM;
    }
    p = tidal_mpw_array(p, 3);
    p = tidal_mpw_bin(p, m->sid, 16);
    p = tidal_mpw_uint(p, m->next_seqno);
    p = tidal_mpw_uint(p, m->code);
    return finish(out, p);
}

int
tidal_msg_handover_decode(const uint8_t *buf, size_t len, tidal_msg_handover *m,
                          tidal_decode_err *err)
{
    tidal_mpr r;
    tidal_mpr_init(&r, buf, len, err);
    int rv = tidal_mpr_array_exact(&r, 3, "handover");
    rv = rv != 0 ? rv : get_sid(&r, m->sid, "handover.sid");
    rv = rv != 0 ? rv : tidal_mpr_uint(&r, UINT64_MAX, &m->next_seqno, "handover.next_seqno");
    rv = rv != 0 ? rv : get_u32(&r, &m->code, "handover.code");
    return rv != 0 ? rv : tidal_mpr_done(&r, "handover");
}

/* ---- DIGEST ---- */
static bool
buckets_ok(uint32_t bytes)
{
    uint32_t n = bytes / 8;
    return bytes % 8 == 0 && n >= 1 && n <= TIDAL_REPL_DIGEST_BUCKETS_MAX && (n & (n - 1)) == 0;
}

int
tidal_msg_digest_encode(const tidal_msg_digest *m, tidal_buf *out)
{
    if (!buckets_ok(m->hashes.len) || m->hashes.ptr == NULL) {
        return TIDAL_EINVAL;
    }
    if (m->ncovers > TIDAL_REGIONS_MAX) {
        return TIDAL_EINVAL;
    }
    uint8_t *p = begin(out, 33 + 5 + 9 * TIDAL_REGIONS_MAX, m->hashes.len);
    if (p == NULL) {
        return TIDAL_ENOMEM;
    }
    p = tidal_mpw_array(p, m->ncovers > 0 ? 5 : 4);
    p = tidal_mpw_uint(p, m->from);
    p = tidal_mpw_uint(p, m->round);
    p = tidal_mpw_bin(p, m->hashes.ptr, m->hashes.len);
    *p++ = m->on_demand ? 0xc3 : 0xc2;
    if (m->ncovers > 0) {
        p = tidal_mpw_array(p, m->ncovers);
        for (uint32_t o = 0; o < m->ncovers; o++) {
            p = tidal_mpw_uint(p, m->covers[o]);
        }
    }
    return finish(out, p);
}

int
tidal_msg_digest_decode(const uint8_t *buf, size_t len, tidal_msg_digest *m,
                        tidal_decode_err *err)
{
    tidal_mpr r;
    tidal_mpr_init(&r, buf, len, err);
    uint32_t arity = 0;
    int rv = tidal_mpr_array(&r, 5, &arity, "digest");
    if (rv == 0 && arity < 4) {
        return tidal_mpr_fail(&r, TIDAL_EFIELD, "digest", 4, arity);
    }
    rv = rv != 0 ? rv : get_u16(&r, &m->from, "digest.from");
    rv = rv != 0 ? rv : tidal_mpr_uint(&r, UINT64_MAX, &m->round, "digest.round");
    rv = rv != 0 ? rv : get_bin(&r, TIDAL_REPL_DIGEST_BUCKETS_MAX * 8u, &m->hashes, "digest.hashes");
    if (rv == 0 && !buckets_ok(m->hashes.len)) {
        return tidal_mpr_fail(&r, TIDAL_EFIELD, "digest.hashes", 8, m->hashes.len);
    }
    rv = rv != 0 ? rv : tidal_mpr_bool(&r, &m->on_demand, "digest.on_demand");
    m->ncovers = 0;
    memset(m->covers, 0, sizeof(m->covers));
    if (rv == 0 && arity == 5) {
        rv = tidal_mpr_array(&r, TIDAL_REGIONS_MAX, &m->ncovers, "digest.covers");
        for (uint32_t o = 0; rv == 0 && o < m->ncovers; o++) {
            rv = tidal_mpr_uint(&r, UINT64_MAX, &m->covers[o], "digest.covers");
        }
    }
    return rv != 0 ? rv : tidal_mpr_done(&r, "digest");
}

/* ---- ENTRIES ---- */
int
tidal_msg_entries_encode(const tidal_msg_entries *m, tidal_buf *out)
{
    size_t var = m->want.len;
    if (m->count > TIDAL_REPL_ENTRIES_MAX || m->want.len > TIDAL_REPL_DIGEST_BUCKETS_MAX / 8 ||
        (m->count > 0 && m->entries == NULL)) {
        return TIDAL_EINVAL;
    }
    for (uint32_t i = 0; i < m->count; i++) {
        if (m->entries[i].len == 0 || m->entries[i].len > TIDAL_REPL_ENTRY_BYTES_MAX) {
            return TIDAL_EINVAL;
        }
        var += m->entries[i].len + 5;
    }
    uint8_t *p = begin(out, 48, var);
    if (p == NULL) {
        return TIDAL_ENOMEM;
    }
    p = tidal_mpw_array(p, 8);
    p = tidal_mpw_uint(p, m->from);
    p = tidal_mpw_uint(p, m->round);
    p = tidal_mpw_bin(p, m->want.ptr, m->want.len);
    *p++ = m->last ? 0xc3 : 0xc2;
    *p++ = m->reply ? 0xc3 : 0xc2;
    p = tidal_mpw_uint(p, m->part);
    *p++ = m->whole ? 0xc3 : 0xc2;
    p = tidal_mpw_array(p, m->count);
    for (uint32_t i = 0; i < m->count; i++) {
        p = tidal_mpw_bin(p, m->entries[i].ptr, m->entries[i].len);
    }
    return finish(out, p);
}

int
tidal_msg_entries_decode(const uint8_t *buf, size_t len, tidal_msg_entries *m,
                         tidal_decode_err *err)
{
    tidal_mpr r;
    tidal_mpr_init(&r, buf, len, err);
    int rv = tidal_mpr_array_exact(&r, 8, "entries");
    rv = rv != 0 ? rv : get_u16(&r, &m->from, "entries.from");
    rv = rv != 0 ? rv : tidal_mpr_uint(&r, UINT64_MAX, &m->round, "entries.round");
    rv = rv != 0 ? rv : get_bin(&r, TIDAL_REPL_DIGEST_BUCKETS_MAX / 8, &m->want, "entries.want");
    rv = rv != 0 ? rv : tidal_mpr_bool(&r, &m->last, "entries.last");
    rv = rv != 0 ? rv : tidal_mpr_bool(&r, &m->reply, "entries.reply");
    rv = rv != 0 ? rv : get_u32(&r, &m->part, "entries.part");
    rv = rv != 0 ? rv : tidal_mpr_bool(&r, &m->whole, "entries.whole");
    rv = rv != 0 ? rv : tidal_mpr_array(&r, TIDAL_REPL_ENTRIES_MAX, &m->count, "entries.list");
    if (rv != 0) {
        return rv;
    }
    const uint8_t *start = r.p;
    for (uint32_t i = 0; i < m->count; i++) {
        tidal_view e;
        rv = get_bin(&r, TIDAL_REPL_ENTRY_BYTES_MAX, &e, "entries.entry");
        if (rv == 0 && e.len == 0) {
            return tidal_mpr_fail(&r, TIDAL_EFIELD, "entries.entry", 1, 0);
        }
        if (rv != 0) {
            return rv;
        }
    }
    m->entries_raw = (tidal_view){start, (uint32_t)(r.p - start)};
    m->entries = NULL;
    return tidal_mpr_done(&r, "entries");
}

int
tidal_msg_entries_next(const tidal_msg_entries *m, size_t *cursor, tidal_view *entry)
{
    if (*cursor >= m->entries_raw.len) {
        return TIDAL_ENOENT;
    }
    tidal_mpr r;
    tidal_mpr_init(&r, m->entries_raw.ptr + *cursor, m->entries_raw.len - *cursor, NULL);
    int rv = get_bin(&r, TIDAL_REPL_ENTRY_BYTES_MAX, entry, "entries.entry");
    /* the decoder validated every entry: a failure here is impossible */
    *cursor += (size_t)(r.p - r.start);
    return rv;
}
