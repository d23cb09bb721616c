/*
 * Duplicate windows (runtime/dupwin.c), driven directly: an actor's window
 * per sender, found through the list while there are few and through the
 * index once there are many, the least recently heard sender's reused past
 * TIDAL_DUP_SENDERS_MAX, and the list and index always holding the same
 * windows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"
#include "tidal_test.h"

TIDAL_SUITE(dupwin);

#define UID 0x1234u

/* An actor as far as dupwin.c reads one: its windows alone. */
static struct tidal__actor *
actor_new(void)
{
    struct tidal__actor *act = calloc(1, sizeof(*act));
    cr_assert_not_null(act);
    return act;
}

static void
actor_free(struct tidal__actor *act)
{
    tidal__dupwins_free(act);
    free(act);
}

/* Sender i's envelope with message id `id`; names and keys both vary, as
 * for virtual actors of a few owners. */
static bool
seen(struct tidal__actor *act, uint32_t i, uint64_t id)
{
    char name[32];
    uint8_t key[4] = {(uint8_t)i, (uint8_t)(i >> 8), 0, 0};
    int n = snprintf(name, sizeof(name), "sender-%u", i % 7);
    tidal_envelope e = {.id = id};
    e.from_name = (tidal_view){(const uint8_t *)name, (uint32_t)n};
    e.from_key = (tidal_view){key, sizeof(key)};
    return tidal__dup_seen(act, UID, &e);
}

/* The list and the index hold the same dupwin_n windows, each once, most
 * recent first; none is another's sender. */
static void
check_consistent(struct tidal__actor *act)
{
    uint32_t n = 0;
    const struct tidal__dupwin *prev = NULL;
    for (const struct tidal__dupwin *w = act->dupwins; w != NULL; w = w->next) {
        cr_assert(w->prev == prev, "a broken back link");
        prev = w;
        n++;
        if (act->dupidx != NULL) {
            uint32_t found = 0;
            for (const struct tidal__dupwin *b = act->dupidx[w->hash & (act->dupidx_cap - 1)];
                 b != NULL; b = b->hnext) {
                found += b == w;
            }
            cr_assert_eq(found, 1, "a window indexed %u times", found);
        }
    }
    cr_assert(act->dupwins_tail == prev);
    cr_assert_eq(n, act->dupwin_n);
    if (act->dupidx != NULL) {
        uint32_t indexed = 0;
        for (uint32_t b = 0; b < act->dupidx_cap; b++) {
            for (const struct tidal__dupwin *w = act->dupidx[b]; w != NULL; w = w->hnext) {
                indexed++;
            }
        }
        cr_assert_eq(indexed, n, "the index holds %u of %u windows", indexed, n);
        cr_assert_geq(act->dupidx_cap, n);
    }
}

Test(dupwin, interleaved_senders_are_told_apart_through_the_index)
{
    struct tidal__actor *act = actor_new();
    const uint32_t senders = 300;
    for (uint64_t id = 1; id <= 40; id++) {
        for (uint32_t i = 0; i < senders; i++) {
            cr_assert(!seen(act, i, id), "sender %u id %llu new, taken for a duplicate", i,
                      (unsigned long long)id);
        }
    }
    cr_assert_eq(act->dupwin_n, senders);
    cr_assert_not_null(act->dupidx, "300 senders and no index");
    check_consistent(act);
    for (uint32_t i = senders; i-- > 0;) {
        cr_assert(seen(act, i, 40), "sender %u's last id again, not a duplicate", i);
        cr_assert(seen(act, i, 7), "sender %u's id 7 again, not a duplicate", i);
        cr_assert(!seen(act, i, 41));
    }
    check_consistent(act);
    actor_free(act);
}

Test(dupwin, few_senders_keep_no_index)
{
    struct tidal__actor *act = actor_new();
    for (uint32_t i = 0; i < 8; i++) {
        cr_assert(!seen(act, i, 1));
        cr_assert(seen(act, i, 1));
    }
    cr_assert_null(act->dupidx);
    check_consistent(act);
    cr_assert(!seen(act, 8, 1)); /* the ninth */
    cr_assert_not_null(act->dupidx);
    for (uint32_t i = 0; i <= 8; i++) {
        cr_assert(seen(act, i, 1));
    }
    check_consistent(act);
    actor_free(act);
}

Test(dupwin, past_the_bound_the_least_recently_heard_sender_goes)
{
    struct tidal__actor *act = actor_new();
    const uint32_t max = TIDAL_DUP_SENDERS_MAX;
    for (uint32_t i = 0; i < max; i++) {
        cr_assert(!seen(act, i, 5));
    }
    cr_assert(seen(act, 0, 5)); /* sender 0 heard again: now the most recent */
    cr_assert(!seen(act, max, 5)); /* a new sender: sender 1's window is reused */
    cr_assert_eq(act->dupwin_n, max, "the windows grew past the bound");
    check_consistent(act);
    cr_assert(seen(act, 0, 5), "sender 0, heard recently, lost its window");
    cr_assert(seen(act, 2, 5), "sender 2 lost its window instead of sender 1");
    cr_assert(seen(act, max, 5));
    cr_assert(!seen(act, 1, 5), "sender 1's window should have gone: it cannot tell");
    cr_assert_eq(act->dupwin_n, max);
    check_consistent(act);
    /* a thousand more senders, each taking the oldest window */
    for (uint32_t i = max + 1; i < 2 * max; i++) {
        cr_assert(!seen(act, i, 9));
    }
    cr_assert_eq(act->dupwin_n, max);
    check_consistent(act);
    actor_free(act);
}

Test(dupwin, one_name_from_two_runtimes_is_two_senders)
{
    struct tidal__actor *act = actor_new();
    for (uint32_t i = 0; i < 20; i++) { /* past the list: through the index */
        cr_assert(!seen(act, i, 3));
    }
    char name[] = "sender-1";
    uint8_t key[4] = {1, 0, 0, 0};
    tidal_envelope e = {.id = 3};
    e.from_name = (tidal_view){(const uint8_t *)name, sizeof(name) - 1};
    e.from_key = (tidal_view){key, sizeof(key)};
    cr_assert(tidal__dup_seen(act, UID, &e), "sender 1 of this runtime, id 3 again");
    cr_assert(!tidal__dup_seen(act, UID + 1, &e), "another runtime's sender-1 is another sender");
    check_consistent(act);
    actor_free(act);
}
