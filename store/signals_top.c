/*
 * The top k items of one type by windowed count (signals_top.h): one scan of
 * the slots with a min-heap of the k best so far in the caller's array.
 * The heap's root is the worst of the kept; a slot better than it replaces
 * it.  "Better" is a total order (count, then the smaller item id), so the
 * result does not depend on the table's slot order.
 */
#include "store/signals_top.h"

#include "store/signals_internal.h"
#include "tidal/errors.h"

/* True if a ranks before b: a greater count, or an equal one and a smaller
 * item id. */
static bool
better(const tidal_signals_ranked *a, const tidal_signals_ranked *b)
{
    return a->count != b->count ? a->count > b->count : a->item < b->item;
}

static void
swap(tidal_signals_ranked *a, tidal_signals_ranked *b)
{
    tidal_signals_ranked t = *a;
    *a = *b;
    *b = t;
}

/* Restores the heap below i (the root is the worst). */
static void
sift_down(tidal_signals_ranked *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && better(&h[w], &h[l])) {
            w = l;
        }
        if (r < n && better(&h[w], &h[r])) {
            w = r;
        }
        if (w == i) {
            return;
        }
        swap(&h[i], &h[w]);
        i = w;
    }
}

static void
sift_up(tidal_signals_ranked *h, size_t i)
{
    while (i > 0 && better(&h[(i - 1) / 2], &h[i])) {
        swap(&h[(i - 1) / 2], &h[i]);
        i = (i - 1) / 2;
    }
}

int
tidal_signals_top(const tidal_signals *s, uint16_t type, tidal_sigwindow window,
                  uint64_t now_ns, size_t k, tidal_signals_ranked *out, size_t *n)
{
    const tidal__sig_slot *slot;
    size_t cursor = 0, held = 0;

    if (window != TIDAL_SIGWINDOW_1H && window != TIDAL_SIGWINDOW_24H &&
        window != TIDAL_SIGWINDOW_7D) {
        return TIDAL_EINVAL;
    }
    while (k > 0 && (slot = tidal_hmap_next(&s->map, &cursor)) != NULL) {
        if (slot->type != type) {
            continue;
        }
        tidal_signals_ranked c = {slot->item, tidal__sig_slot_count(s, slot, window, now_ns)};
        if (c.count <= 0) {
            continue;
        }
        if (held < k) {
            out[held] = c;
            sift_up(out, held++);
        } else if (better(&c, &out[0])) {
            out[0] = c;
            sift_down(out, held, 0);
        }
    }
    /* Heap sort in place: the worst goes to the end each time. */
    for (size_t end = held; end > 1; end--) {
        swap(&out[0], &out[end - 1]);
        sift_down(out, end - 1, 0);
    }
    *n = held;
    return 0;
}
