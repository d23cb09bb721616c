/*
 * PING and PONG payloads: the liveness and latency probe.  A pong echoes the
 * ping's seq and body, so both share one layout (and the code below):
 *
 *   idx  field  msgpack type   bound
 *   -    -      array          exactly 2 elements
 *   0    seq    positive int   uint64
 *   1    body   bin            0..TIDAL_MSG_BODY_BYTES_MAX
 *
 * Valid if and only if the payload is that array and nothing follows it.
 * What goes wrong is told apart as for the envelope (mpread.c's check order).
 */
#include "messages/msgs.h"

/* The `what` names of one type's fields, for decode errors. */
typedef struct seq_body_what {
    const char *msg;
    const char *seq;
    const char *body;
} seq_body_what;

static const seq_body_what ping_what = {"ping", "ping.seq", "ping.body"};
static const seq_body_what pong_what = {"pong", "pong.seq", "pong.body"};

static int
seq_body_encode(uint64_t seq, tidal_view body, tidal_buf *out)
{
    if (body.len > TIDAL_MSG_BODY_BYTES_MAX || (body.len > 0 && body.ptr == NULL)) {
        return TIDAL_EINVAL;
    }
    size_t len = out->len;
    msgpack_packer pk;
    tidal_buf_packer(out, &pk);
    int rv = msgpack_pack_array(&pk, 2);
    rv = rv != 0 ? rv : msgpack_pack_uint64(&pk, seq);
    rv = rv != 0 ? rv : msgpack_pack_bin(&pk, body.len);
    rv = rv != 0 ? rv : msgpack_pack_bin_body(&pk, body.ptr, body.len);
    if (rv != 0) {
        out->len = len;
        return TIDAL_ENOMEM;
    }
    return 0;
}

static int
seq_body_decode(const uint8_t *buf, size_t len, uint64_t *seq, tidal_view *body,
                tidal_decode_err *err, const seq_body_what *w)
{
    tidal_mpr r;
    tidal_mpr_init(&r, buf, len, err);
    int rv = tidal_mpr_array_exact(&r, 2, w->msg);
    rv = rv != 0 ? rv : tidal_mpr_uint(&r, UINT64_MAX, seq, w->seq);
    rv =
        rv != 0 ? rv : tidal_mpr_bin(&r, TIDAL_MSG_BODY_BYTES_MAX, &body->ptr, &body->len, w->body);
    return rv != 0 ? rv : tidal_mpr_done(&r, w->msg);
}

int
tidal_msg_ping_encode(const tidal_msg_ping *m, tidal_buf *out)
{
    return seq_body_encode(m->seq, m->body, out);
}

int
tidal_msg_ping_decode(const uint8_t *buf, size_t len, tidal_msg_ping *m, tidal_decode_err *err)
{
    return seq_body_decode(buf, len, &m->seq, &m->body, err, &ping_what);
}

int
tidal_msg_pong_encode(const tidal_msg_pong *m, tidal_buf *out)
{
    return seq_body_encode(m->seq, m->body, out);
}

int
tidal_msg_pong_decode(const uint8_t *buf, size_t len, tidal_msg_pong *m, tidal_decode_err *err)
{
    return seq_body_decode(buf, len, &m->seq, &m->body, err, &pong_what);
}
