/* Uses only installed headers: opens a runtime, spawns an actor, asks it. */
#include <stdio.h>
#include <string.h>

#include <tidal/runtime.h>

static int
handle(tidal_ctx *ctx, void *state, const tidal_msg *m)
{
    (void)state;
    return m->can_reply ? tidal_ctx_reply(ctx, m, m->type, m->payload, m->len) : 0;
}

int
main(void)
{
    static const tidal_behaviour b = {.handle = handle};
    tidal_runtime *rt;
    tidal_actor a;
    tidal_addr to;
    tidal_reply r;
    if (tidal_runtime_open(NULL, &rt) != 0) {
        return 1;
    }
    tidal_spawn_opts o = {.name = "echo", .behaviour = &b};
    int rv = tidal_spawn(rt, &o, &a);
    if (rv == 0) {
        rv = tidal_actor_addr(rt, a, &to);
    }
    if (rv == 0) {
        rv = tidal_ask(rt, &to, 1000, "hi", 2, 5000, &r);
    }
    if (rv == 0) {
        rv = (r.len == 2 && memcmp(r.payload, "hi", 2) == 0) ? 0 : 1;
        tidal_reply_free(&r);
    }
    printf("consumer: %s\n", rv == 0 ? "ok" : tidal_strerror(rv));
    return tidal_runtime_close(rt) == 0 && rv == 0 ? 0 : 1;
}
