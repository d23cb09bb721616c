/*
 * The counter actor's payloads: COUNTER_ADD, COUNTER_READ (answered with
 * COUNTER_VALUE).
 *
 *   type           layout            field types
 *   COUNTER_ADD    [delta]           delta: int, int64 range
 *   COUNTER_READ   []                (an empty array: the type says it all)
 *   COUNTER_VALUE  [value]           value: int, int64 range
 *
 * Ints may come in any msgpack int width (a positive delta packs as a
 * positive int).  Valid if and only if the payload is the array above, with
 * exactly that arity, and nothing follows it.
 */
#include "messages/msgs.h"

/* Packs [v], or [] when has_v is false. */
static int
pack_int_array(bool has_v, int64_t v, tidal_buf *out)
{
    size_t len = out->len;
    msgpack_packer pk;
    tidal_buf_packer(out, &pk);
    int rv = msgpack_pack_array(&pk, has_v ? 1 : 0);
    if (has_v) {
        rv = rv != 0 ? rv : msgpack_pack_int64(&pk, v);
    }
    if (rv != 0) {
        out->len = len;
        return TIDAL_ENOMEM;
    }
    return 0;
}

static int
unpack_int_array(const uint8_t *buf, size_t len, int64_t *v, tidal_decode_err *err,
                 const char *what_msg, const char *what_v)
{
    tidal_mpr r;
    tidal_mpr_init(&r, buf, len, err);
    int rv = tidal_mpr_array_exact(&r, 1, what_msg);
    rv = rv != 0 ? rv : tidal_mpr_int(&r, v, what_v);
    return rv != 0 ? rv : tidal_mpr_done(&r, what_msg);
}

int
tidal_msg_counter_add_encode(const tidal_msg_counter_add *m, tidal_buf *out)
{
    return pack_int_array(true, m->delta, out);
}

int
tidal_msg_counter_add_decode(const uint8_t *buf, size_t len, tidal_msg_counter_add *m,
                             tidal_decode_err *err)
{
    return unpack_int_array(buf, len, &m->delta, err, "counter_add", "counter_add.delta");
}

int
tidal_msg_counter_read_encode(const tidal_msg_counter_read *m, tidal_buf *out)
{
    (void)m; /* no fields: the uniform signature keeps every type alike */
    return pack_int_array(false, 0, out);
}

int
tidal_msg_counter_read_decode(const uint8_t *buf, size_t len, tidal_msg_counter_read *m,
                              tidal_decode_err *err)
{
    tidal_mpr r;
    tidal_mpr_init(&r, buf, len, err);
    int rv = tidal_mpr_array_exact(&r, 0, "counter_read");
    rv = rv != 0 ? rv : tidal_mpr_done(&r, "counter_read");
    m->unused = 0;
    return rv;
}

int
tidal_msg_counter_value_encode(const tidal_msg_counter_value *m, tidal_buf *out)
{
    return pack_int_array(true, m->value, out);
}

int
tidal_msg_counter_value_decode(const uint8_t *buf, size_t len, tidal_msg_counter_value *m,
                               tidal_decode_err *err)
{
    return unpack_int_array(buf, len, &m->value, err, "counter_value", "counter_value.value");
}
