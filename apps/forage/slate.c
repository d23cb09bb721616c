/*
 * Slates from filtered candidates (slate.h).
 */
#include "slate.h"

#include <string.h>

#include <tidal/errors.h>

/* Whether item is among the first `upto` of list, or of an earlier source. */
static bool
offered_before(const forage_candidates cands[FORAGE_SOURCES], int src, size_t upto, uint32_t item)
{
    for (int s = 0; s <= src; s++) {
        size_t n = s == src ? upto : cands[s].n;
        for (size_t i = 0; i < n; i++) {
            if (cands[s].items[i] == item) {
                return true;
            }
        }
    }
    return false;
}

void
forage_slate_filter(forage_candidates cands[FORAGE_SOURCES], forage_hidden_fn hidden, void *arg)
{
    for (int s = 0; s < FORAGE_SOURCES; s++) {
        forage_candidates *c = &cands[s];
        size_t kept = 0;
        for (size_t i = 0; i < c->n; i++) {
            uint32_t item = c->items[i];
            if (hidden(item, arg) || offered_before(cands, s, kept, item)) {
                continue;
            }
            c->items[kept++] = item;
        }
        c->n = kept;
    }
}

int
forage_slate_take(const forage_candidates cands[FORAGE_SOURCES],
                  const size_t counts[FORAGE_SOURCES], forage_slate *out)
{
    memset(out, 0, sizeof(*out));
    size_t total = 0;
    for (int s = 0; s < FORAGE_SOURCES; s++) {
        if (counts[s] > cands[s].n) {
            return TIDAL_EINVAL;
        }
        total += counts[s];
    }
    if (total > FORAGE_SLATE_SLOTS) {
        return TIDAL_EINVAL;
    }
    for (int s = 0; s < FORAGE_SOURCES; s++) {
        for (size_t i = 0; i < counts[s]; i++) {
            out->items[out->n] = cands[s].items[i];
            out->source[out->n] = (uint8_t)s;
            out->n++;
        }
        out->counts[s] = counts[s];
    }
    return 0;
}

int
forage_slate_build(forage_policy p, const forage_arm arms[FORAGE_SOURCES],
                   const forage_prior prior[FORAGE_SOURCES],
                   forage_candidates cands[FORAGE_SOURCES], forage_hidden_fn hidden, void *arg,
                   forage_rng *r, forage_slate *out)
{
    memset(out, 0, sizeof(*out));
    forage_slate_filter(cands, hidden, arg);
    size_t avail[FORAGE_SOURCES], counts[FORAGE_SOURCES];
    for (int s = 0; s < FORAGE_SOURCES; s++) {
        avail[s] = cands[s].n;
    }
    int rv = forage_bandit_compose_prior(p, arms, prior, avail, FORAGE_SLATE_SLOTS, r, counts);
    if (rv != 0) {
        return rv;
    }
    return forage_slate_take(cands, counts, out);
}
