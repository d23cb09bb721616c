/*
 * Session entries for reconciliation (session.h): one session's encoding
 * and its hash, and the decoder (the merge of another replica's copy is
 * session_merge.c's).
 *
 * Format, integers little-endian:
 *   offset  size  field
 *   0       1     version (TIDAL_SESSION_ENTRY_VERSION)
 *   1       8     id hi
 *   9       8     id lo
 *   17      8     user
 *   25      2     home region
 *   27      14    home stamp (wall u64, logical u32, node u16)
 *   41      8     handover seqno
 *   49      14    started stamp
 *   63      8     next seqno
 *   71      1     flags: bit 0 ended; bit 1 stamped; other bits zero
 *   72      14    end stamp, present only when ended
 *   then    2     T, the number of type names, 0..TIDAL_SIGTYPES_MAX
 *           T x   { length L u8, L bytes of name }
 *           4     S, the number of signals, 0..TIDAL_SESSION_SIGNALS_MAX
 *           S x   { seqno u64, item u64, ts u64, weight (IEEE-754 bits) u32,
 *                   type index u16 (into the names), origin u16 }   32 bytes
 *                 then, only when stamped, the signal's stamp (wall u64,
 *                 logical u32, node u16)                           +14 bytes
 * Valid if and only if:
 *   1. the version is known (else TIDAL_EVERSION);
 *   2. the id is not {0, 0}, home < TIDAL_REGIONS_MAX, 1 <= handover <= next;
 *   3. the flags have no unknown bit;
 *   4. the names are valid type names in strictly increasing byte order, and
 *      every one is used by a signal;
 *   5. seqnos strictly increase from 1 up and stay below next seqno; weights
 *      are finite; type indexes < T; origins < TIDAL_REGIONS_MAX; when
 *      stamped, at least one signal's stamp is not all zero;
 *   6. the input ends exactly after the last signal.
 * Rule 5 asks for increasing seqnos, not for every seqno from 1: an entry
 * may hold a run of a session's signals only (a part, session_parts.c).
 * Stamps (the origin's HLC at each signal's write) came after the format:
 * an entry without the stamped flag - every entry written before, kept in
 * a reconciled log (actors/reconciled.c) or sent by an older region -
 * decodes with every stamp zero ("unknown").  The flag is set if and only
 * if some signal has a stamp (rule 5), so the encoding stays a function of
 * the state.  They are a flag and not version 2 because the reconciler
 * reads an entry's key at version 1's offsets (actors/entries.c), which the
 * flag keeps; a decoder older than the flag refuses a stamped entry as
 * TIDAL_ECORRUPT (an unknown flag bit), so stamps need every region of a
 * cluster on this version (tidal 0.1 is not released: docs/abi.md).
 * Breaking 2-5 is TIDAL_ECORRUPT; ending early TIDAL_ETRUNCATED; bytes after
 * the end TIDAL_ETRAILING.  Names travel instead of ids because ids are local
 * to each region's tidal_sigtypes; the name table is sorted and holds only the
 * names used, so equal sessions have equal encodings (and hashes) everywhere.
 */
#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "store/bytes.h"
#include "store/pncounter.h"
#include "store/session.h"
#include "store/session_internal.h"
#include "tidal/errors.h"

#define SESS_HASH_SEED 0x53657373696f6e73ull /* "Sessions" */
#define SESS_SIGNAL_BYTES 32u
#define SESS_STAMP_BYTES 14u
#define SESS_FLAG_ENDED 0x01u
#define SESS_FLAG_STAMPED 0x02u

static bool
stamp_zero(const tidal_hlc *h)
{
    return h->wall_ns == 0 && h->logical == 0 && h->node_id == 0;
}

/* True if some signal of the slot has a stamp: the entry is stamped. */
bool
tidal__sess_range_stamped(const tidal__sess_slot *s, size_t i0, size_t i1)
{
    for (size_t i = i0; i < i1; i++) {
        if (!stamp_zero(&s->sig[i].stamp)) {
            return true;
        }
    }
    return false;
}

/* The type ids a slot uses, sorted by name, and each id's index among them. */
typedef struct name_table {
    uint16_t ids[TIDAL_SIGTYPES_MAX];
    uint16_t index_of[TIDAL_SIGTYPES_MAX + 1];
    size_t count;
} name_table;

static void
name_table_build(const tidal_sigtypes *types, const tidal__sess_slot *s, size_t i0, size_t i1,
                 name_table *nt)
{
    uint8_t seen[TIDAL_SIGTYPES_MAX / 8 + 1];

    memset(seen, 0, sizeof(seen));
    nt->count = 0;
    for (size_t i = i0; i < i1; i++) {
        uint16_t id = s->sig[i].type;
        if ((seen[id / 8] & (1u << (id % 8))) == 0) {
            seen[id / 8] |= (uint8_t)(1u << (id % 8));
            nt->ids[nt->count++] = id;
        }
    }
    /* Insertion sort by name: a session uses a handful of types. */
    for (size_t i = 1; i < nt->count; i++) {
        uint16_t id = nt->ids[i];
        size_t j = i;
        while (j > 0 && strcmp(tidal_sigtypes_name(types, nt->ids[j - 1]),
                               tidal_sigtypes_name(types, id)) > 0) {
            nt->ids[j] = nt->ids[j - 1];
            j--;
        }
        nt->ids[j] = id;
    }
    for (size_t i = 0; i < nt->count; i++) {
        nt->index_of[nt->ids[i]] = (uint16_t)i;
    }
}

void
tidal__sess_entry_write(const tidal_sessions *t, const tidal__sess_slot *s, size_t i0, size_t i1,
                        tidal__wr *w)
{
    name_table nt;
    bool stamped = tidal__sess_range_stamped(s, i0, i1); /* rule 5, for a part too */

    tidal__wr_u8(w, TIDAL_SESSION_ENTRY_VERSION);
    tidal__wr_u64(w, s->id.hi);
    tidal__wr_u64(w, s->id.lo);
    tidal__wr_u64(w, s->user);
    tidal__wr_u16(w, s->home);
    tidal__wr_hlc(w, &s->home_stamp);
    tidal__wr_u64(w, s->handover_seqno);
    tidal__wr_hlc(w, &s->started);
    tidal__wr_u64(w, s->next_seqno);
    tidal__wr_u8(w, (uint8_t)((s->ended ? SESS_FLAG_ENDED : 0) |
                              (stamped ? SESS_FLAG_STAMPED : 0)));
    if (s->ended) {
        tidal__wr_hlc(w, &s->ended_stamp);
    }
    name_table_build(t->types, s, i0, i1, &nt);
    tidal__wr_u16(w, (uint16_t)nt.count);
    for (size_t i = 0; i < nt.count; i++) {
        const char *name = tidal_sigtypes_name(t->types, nt.ids[i]);
        size_t len = strlen(name);
        tidal__wr_u8(w, (uint8_t)len);
        tidal__wr_bytes(w, name, len);
    }
    tidal__wr_u32(w, (uint32_t)(i1 - i0));
    for (size_t i = i0; i < i1; i++) {
        const tidal_session_signal *g = &s->sig[i];
        uint32_t bits;
        memcpy(&bits, &g->weight, sizeof(bits));
        tidal__wr_u64(w, g->seqno);
        tidal__wr_u64(w, g->item);
        tidal__wr_u64(w, g->ts_ns);
        tidal__wr_u32(w, bits);
        tidal__wr_u16(w, nt.index_of[g->type]);
        tidal__wr_u16(w, g->origin);
        if (stamped) {
            tidal__wr_hlc(w, &g->stamp);
        }
    }
}

static uint64_t
slot_hash(const tidal_sessions *t, const tidal__sess_slot *s)
{
    tidal_hasher h;
    tidal__wr w;

    tidal_hasher_init(&h, SESS_HASH_SEED);
    tidal__wr_init(&w, NULL, 0, &h);
    tidal__sess_entry_write(t, s, 0, s->nsig, &w);
    return tidal_hasher_final(&h);
}

int
tidal_sessions_entry_hash(const tidal_sessions *t, const tidal_session_id *id, uint64_t *out)
{
    const tidal__sess_slot *s = tidal_hmap_find(&t->map, id);

    if (s == NULL) {
        return TIDAL_ENOENT;
    }
    *out = slot_hash(t, s);
    return 0;
}

uint64_t
tidal_sessions_digest(const tidal_sessions *t)
{
    const tidal__sess_slot *s;
    size_t cursor = 0;
    uint64_t sum = 0;

    while ((s = tidal_hmap_next(&t->map, &cursor)) != NULL) {
        sum += slot_hash(t, s);
    }
    return sum;
}

uint64_t
tidal_sessions_digest_at(const tidal_sessions *t, uint64_t cutoff_ns)
{
    const tidal__sess_slot *s;
    size_t cursor = 0;
    uint64_t sum = 0;

    while ((s = tidal_hmap_next(&t->map, &cursor)) != NULL) {
        if (!s->ended || s->ended_stamp.wall_ns >= cutoff_ns) {
            sum += slot_hash(t, s);
        }
    }
    return sum;
}

int
tidal_sessions_entry_encode(const tidal_sessions *t, const tidal_session_id *id, uint8_t *buf,
                            size_t cap, size_t *len)
{
    const tidal__sess_slot *s = tidal_hmap_find(&t->map, id);
    tidal__wr w;

    if (s == NULL) {
        return TIDAL_ENOENT;
    }
    tidal__wr_init(&w, buf, cap, NULL);
    tidal__sess_entry_write(t, s, 0, s->nsig, &w);
    return tidal__wr_finish(&w, len);
}

/* Reads the fixed part (rules 1-3) into s; *stamped gets the flag. */
static int
read_header(tidal__rd *r, tidal__sess_slot *s, bool *stamped)
{
    uint8_t version, flags;
    int rv;

    if ((rv = tidal__rd_u8(r, &version)) != 0) {
        return rv;
    }
    if (version != TIDAL_SESSION_ENTRY_VERSION) {
        return TIDAL_EVERSION;
    }
    if ((rv = tidal__rd_u64(r, &s->id.hi)) != 0 || (rv = tidal__rd_u64(r, &s->id.lo)) != 0 ||
        (rv = tidal__rd_u64(r, &s->user)) != 0 || (rv = tidal__rd_u16(r, &s->home)) != 0 ||
        (rv = tidal__rd_hlc(r, &s->home_stamp)) != 0 ||
        (rv = tidal__rd_u64(r, &s->handover_seqno)) != 0 ||
        (rv = tidal__rd_hlc(r, &s->started)) != 0 || (rv = tidal__rd_u64(r, &s->next_seqno)) != 0 ||
        (rv = tidal__rd_u8(r, &flags)) != 0) {
        return rv;
    }
    if ((s->id.hi == 0 && s->id.lo == 0) || s->home >= TIDAL_REGIONS_MAX ||
        s->handover_seqno == 0 || s->handover_seqno > s->next_seqno ||
        (flags & ~(SESS_FLAG_ENDED | SESS_FLAG_STAMPED)) != 0) {
        return TIDAL_ECORRUPT;
    }
    s->ended = (flags & SESS_FLAG_ENDED) != 0;
    *stamped = (flags & SESS_FLAG_STAMPED) != 0;
    if (s->ended && (rv = tidal__rd_hlc(r, &s->ended_stamp)) != 0) {
        return rv;
    }
    return 0;
}

int
tidal__sess_read_header(const uint8_t *buf, size_t len, tidal__sess_slot *s)
{
    tidal__rd r;
    bool stamped;

    memset(s, 0, sizeof(*s));
    tidal__rd_init(&r, buf, len);
    return read_header(&r, s, &stamped);
}

/* Reads and checks the name table (rule 4, except "used"); *count gets T. */
static int
read_names(tidal__rd *r, uint16_t *count)
{
    const uint8_t *prev = NULL, *name;
    uint8_t prev_len = 0, len;
    int rv;

    if ((rv = tidal__rd_u16(r, count)) != 0) {
        return rv;
    }
    if (*count > TIDAL_SIGTYPES_MAX) {
        return TIDAL_ECORRUPT;
    }
    for (size_t i = 0; i < *count; i++) {
        int c;
        if ((rv = tidal__rd_u8(r, &len)) != 0 || (rv = tidal__rd_bytes(r, &name, len)) != 0) {
            return rv;
        }
        if (!tidal_sigtypes_name_valid((const char *)name, len)) {
            return TIDAL_ECORRUPT;
        }
        if (prev != NULL) {
            c = memcmp(prev, name, prev_len < len ? prev_len : len);
            if (c > 0 || (c == 0 && prev_len >= len)) {
                return TIDAL_ECORRUPT;
            }
        }
        prev = name;
        prev_len = len;
    }
    return 0;
}

/* Reads the signals (rule 5) into a new vector in s, with type = the index
 * into the name table for now.  On error s owns no vector. */
static int
read_signals(tidal__rd *r, tidal__sess_slot *s, uint16_t ntypes, bool stamped)
{
    uint8_t used[TIDAL_SIGTYPES_MAX / 8 + 1];
    size_t each = SESS_SIGNAL_BYTES + (stamped ? SESS_STAMP_BYTES : 0);
    bool some_stamp = false;
    uint32_t n;
    int rv;

    memset(used, 0, sizeof(used));
    if ((rv = tidal__rd_u32(r, &n)) != 0) {
        return rv;
    }
    if (n > TIDAL_SESSION_SIGNALS_MAX) {
        return TIDAL_ECORRUPT;
    }
    if (tidal__rd_left(r) / each < n) {
        return TIDAL_ETRUNCATED;
    }
    if (n > 0 && (s->sig = tidal__malloc(n * sizeof(*s->sig))) == NULL) {
        return TIDAL_ENOMEM;
    }
    s->nsig = s->cap = n;
    for (size_t i = 0; i < n; i++) {
        tidal_session_signal *g = &s->sig[i];
        uint32_t bits;
        /* Cannot be short: the length was checked above. */
        (void)tidal__rd_u64(r, &g->seqno);
        (void)tidal__rd_u64(r, &g->item);
        (void)tidal__rd_u64(r, &g->ts_ns);
        (void)tidal__rd_u32(r, &bits);
        (void)tidal__rd_u16(r, &g->type);
        (void)tidal__rd_u16(r, &g->origin);
        g->stamp = (tidal_hlc){0, 0, 0};
        if (stamped) {
            (void)tidal__rd_hlc(r, &g->stamp);
            some_stamp = some_stamp || !stamp_zero(&g->stamp);
        }
        memcpy(&g->weight, &bits, sizeof(bits));
        if (g->seqno == 0 || (i > 0 && g->seqno <= g[-1].seqno) || g->seqno >= s->next_seqno ||
            !isfinite(g->weight) || g->type >= ntypes || g->origin >= TIDAL_REGIONS_MAX) {
            rv = TIDAL_ECORRUPT;
            goto fail_vector;
        }
        used[g->type / 8] |= (uint8_t)(1u << (g->type % 8));
    }
    if (stamped && !some_stamp) {
        rv = TIDAL_ECORRUPT; /* the flag without a stamp: not canonical */
        goto fail_vector;
    }
    for (size_t i = 0; i < ntypes; i++) {
        if ((used[i / 8] & (1u << (i % 8))) == 0) {
            rv = TIDAL_ECORRUPT;
            goto fail_vector;
        }
    }
    return 0;

fail_vector:
    tidal__free(s->sig);
    s->sig = NULL;
    return rv;
}

/* Interns the names (at names_off in buf) and turns the signals' name
 * indexes into local ids.  The input was validated. */
static int
resolve_types(tidal_sigtypes *types, const uint8_t *buf, size_t len, size_t names_off,
              tidal__sess_slot *s)
{
    uint16_t ids[TIDAL_SIGTYPES_MAX];
    uint16_t count = 0;
    tidal__rd r;
    int rv;

    tidal__rd_init(&r, buf, len);
    r.off = names_off;
    (void)tidal__rd_u16(&r, &count);
    for (size_t i = 0; i < count; i++) {
        const uint8_t *name = NULL;
        uint8_t n = 0;
        (void)tidal__rd_u8(&r, &n);
        (void)tidal__rd_bytes(&r, &name, n);
        if ((rv = tidal_sigtypes_intern_n(types, (const char *)name, n, &ids[i])) != 0) {
            return rv;
        }
    }
    for (size_t i = 0; i < s->nsig; i++) {
        s->sig[i].type = ids[s->sig[i].type];
    }
    return 0;
}

/* Decodes a whole entry into *s (a free-standing slot owning its vector):
 * session_internal.h. */
int
tidal__sess_entry_read(tidal_sigtypes *types, const uint8_t *buf, size_t len, tidal__sess_slot *s)
{
    size_t names_off;
    uint16_t ntypes;
    bool stamped;
    tidal__rd r;
    int rv;

    memset(s, 0, sizeof(*s));
    tidal__rd_init(&r, buf, len);
    if ((rv = read_header(&r, s, &stamped)) != 0) {
        return rv;
    }
    names_off = r.off;
    if ((rv = read_names(&r, &ntypes)) != 0 || (rv = read_signals(&r, s, ntypes, stamped)) != 0) {
        return rv;
    }
    if ((rv = tidal__rd_end(&r)) != 0 || (rv = resolve_types(types, buf, len, names_off, s)) != 0) {
        tidal__free(s->sig);
        s->sig = NULL;
        return rv;
    }
    return 0;
}
