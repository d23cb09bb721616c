/*
 * Payloads the runtime itself sends: CHILD_EXIT (supervision) and TIMER.
 *
 *   CHILD_EXIT: array of exactly 4
 *   idx  field     msgpack type   bound
 *   0    child     str            1..TIDAL_NAME_BYTES_MAX-1 bytes
 *   1    code      positive int   TIDAL_MSG_EXIT_CODE_MIN..MAX (a TIDAL_E* code)
 *   2    restarts  positive int   uint32
 *   3    stopped   bool           true once the supervisor gave up
 *
 *   TIMER: array of exactly 2
 *   idx  field     msgpack type   bound
 *   0    tag       positive int   uint64
 *   1    body      bin            0..TIDAL_MSG_BODY_BYTES_MAX
 *
 * Valid if and only if the payload is one of these arrays, every field within
 * its bound, and nothing follows it.  An empty child name or a code outside
 * the range is a wrong value: TIDAL_EFIELD.
 */
#include "messages/msgs.h"

#define CHILD_LEN_MAX (TIDAL_NAME_BYTES_MAX - 1u)

int
tidal_msg_child_exit_encode(const tidal_msg_child_exit *m, tidal_buf *out)
{
    if (m->child.len < 1 || m->child.len > CHILD_LEN_MAX || m->child.ptr == NULL) {
        return TIDAL_EINVAL;
    }
    if (m->code < TIDAL_MSG_EXIT_CODE_MIN || m->code > TIDAL_MSG_EXIT_CODE_MAX) {
        return TIDAL_EINVAL;
    }
    size_t len = out->len;
    msgpack_packer pk;
    tidal_buf_packer(out, &pk);
    int rv = msgpack_pack_array(&pk, 4);
    rv = rv != 0 ? rv : msgpack_pack_str(&pk, m->child.len);
    rv = rv != 0 ? rv : msgpack_pack_str_body(&pk, m->child.ptr, m->child.len);
    rv = rv != 0 ? rv : msgpack_pack_uint32(&pk, m->code);
    rv = rv != 0 ? rv : msgpack_pack_uint32(&pk, m->restarts);
    rv = rv != 0 ? rv : (m->stopped ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk));
    if (rv != 0) {
        out->len = len;
        return TIDAL_ENOMEM;
    }
    return 0;
}

int
tidal_msg_child_exit_decode(const uint8_t *buf, size_t len, tidal_msg_child_exit *m,
                            tidal_decode_err *err)
{
    tidal_mpr r;
    const char *child = NULL;
    uint64_t code = 0;
    uint64_t restarts = 0;
    tidal_mpr_init(&r, buf, len, err);
    int rv = tidal_mpr_array_exact(&r, 4, "child_exit");
    const uint8_t *at = r.p;
    rv = rv != 0 ? rv : tidal_mpr_str(&r, CHILD_LEN_MAX, &child, &m->child.len, "child_exit.child");
    if (rv == 0 && m->child.len == 0) {
        r.p = at;
        return tidal_mpr_fail(&r, TIDAL_EFIELD, "child_exit.child", 1, 0);
    }
    at = r.p;
    rv = rv != 0 ? rv : tidal_mpr_uint(&r, UINT32_MAX, &code, "child_exit.code");
    if (rv == 0 && (code < TIDAL_MSG_EXIT_CODE_MIN || code > TIDAL_MSG_EXIT_CODE_MAX)) {
        r.p = at;
        return tidal_mpr_fail(&r, TIDAL_EFIELD, "child_exit.code", TIDAL_MSG_EXIT_CODE_MIN, code);
    }
    rv = rv != 0 ? rv : tidal_mpr_uint(&r, UINT32_MAX, &restarts, "child_exit.restarts");
    rv = rv != 0 ? rv : tidal_mpr_bool(&r, &m->stopped, "child_exit.stopped");
    rv = rv != 0 ? rv : tidal_mpr_done(&r, "child_exit");
    if (rv != 0) {
        return rv;
    }
    m->child.ptr = (const uint8_t *)child;
    m->code = (uint32_t)code;
    m->restarts = (uint32_t)restarts;
    return 0;
}

int
tidal_msg_timer_encode(const tidal_msg_timer *m, tidal_buf *out)
{
    if (m->body.len > TIDAL_MSG_BODY_BYTES_MAX || (m->body.len > 0 && m->body.ptr == NULL)) {
        return TIDAL_EINVAL;
    }
    size_t len = out->len;
    msgpack_packer pk;
    tidal_buf_packer(out, &pk);
    int rv = msgpack_pack_array(&pk, 2);
    rv = rv != 0 ? rv : msgpack_pack_uint64(&pk, m->tag);
    rv = rv != 0 ? rv : msgpack_pack_bin(&pk, m->body.len);
    rv = rv != 0 ? rv : msgpack_pack_bin_body(&pk, m->body.ptr, m->body.len);
    if (rv != 0) {
        out->len = len;
        return TIDAL_ENOMEM;
    }
    return 0;
}

int
tidal_msg_timer_decode(const uint8_t *buf, size_t len, tidal_msg_timer *m, tidal_decode_err *err)
{
    tidal_mpr r;
    tidal_mpr_init(&r, buf, len, err);
    int rv = tidal_mpr_array_exact(&r, 2, "timer");
    rv = rv != 0 ? rv : tidal_mpr_uint(&r, UINT64_MAX, &m->tag, "timer.tag");
    rv = rv != 0 ? rv
                 : tidal_mpr_bin(&r, TIDAL_MSG_BODY_BYTES_MAX, &m->body.ptr, &m->body.len,
                                 "timer.body");
    return rv != 0 ? rv : tidal_mpr_done(&r, "timer");
}
