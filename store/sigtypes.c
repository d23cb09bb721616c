/*
 * The signal-type intern table (sigtypes.h): names by id in an array, ids by
 * name in a hash map keyed by the zero-padded name.
 */
#include "store/sigtypes.h"

#include <string.h>

#include "base/alloc.h"
#include "store/hmap.h"
#include "tidal/errors.h"

typedef struct st_slot {
    char name[TIDAL_SIGTYPE_NAME_BYTES_MAX]; /* the key, zero-padded */
    uint16_t id;
} st_slot;

struct tidal_sigtypes {
    tidal_hmap by_name;                          /* st_slot */
    char (*names)[TIDAL_SIGTYPE_NAME_BYTES_MAX]; /* names[id - 1] */
    size_t count;
    size_t cap; /* entries allocated in names */
};

int
tidal_sigtypes_open(tidal_sigtypes **out)
{
    tidal_sigtypes *t = tidal__calloc(1, sizeof(*t));

    if (t == NULL) {
        return TIDAL_ENOMEM;
    }
    tidal_hmap_init(&t->by_name, sizeof(st_slot), TIDAL_SIGTYPE_NAME_BYTES_MAX);
    *out = t;
    return 0;
}

void
tidal_sigtypes_close(tidal_sigtypes *t)
{
    if (t == NULL) {
        return;
    }
    tidal_hmap_fini(&t->by_name);
    tidal__free(t->names);
    tidal__free(t);
}

bool
tidal_sigtypes_name_valid(const char *name, size_t len)
{
    if (name == NULL || len == 0 || len >= TIDAL_SIGTYPE_NAME_BYTES_MAX) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)name[i] < 0x21 || (unsigned char)name[i] > 0x7e) {
            return false;
        }
    }
    return true;
}

/* The zero-padded key of name[0..len), or false if the name is invalid. */
static bool
make_key(const char *name, size_t len, char key[TIDAL_SIGTYPE_NAME_BYTES_MAX])
{
    if (!tidal_sigtypes_name_valid(name, len)) {
        return false;
    }
    memset(key, 0, TIDAL_SIGTYPE_NAME_BYTES_MAX);
    memcpy(key, name, len);
    return true;
}

int
tidal_sigtypes_intern_n(tidal_sigtypes *t, const char *name, size_t len, uint16_t *id)
{
    char key[TIDAL_SIGTYPE_NAME_BYTES_MAX];
    const st_slot *found;
    st_slot *s;
    bool created;
    int rv;

    if (!make_key(name, len, key)) {
        return TIDAL_EINVAL;
    }
    if ((found = tidal_hmap_find(&t->by_name, key)) != NULL) {
        *id = found->id;
        return 0;
    }
    if (t->count == TIDAL_SIGTYPES_MAX) {
        return TIDAL_ELIMIT;
    }
    if (t->count == t->cap) {
        size_t cap = t->cap == 0 ? 8 : t->cap * 2;
        void *names = tidal__realloc(t->names, cap * sizeof(*t->names));
        if (names == NULL) {
            return TIDAL_ENOMEM;
        }
        t->names = names;
        t->cap = cap;
    }
    if ((rv = tidal_hmap_upsert(&t->by_name, key, (void **)&s, &created)) != 0) {
        return rv;
    }
    memcpy(t->names[t->count], key, sizeof(key));
    t->count++;
    s->id = (uint16_t)t->count;
    *id = s->id;
    return 0;
}

int
tidal_sigtypes_intern(tidal_sigtypes *t, const char *name, uint16_t *id)
{
    if (name == NULL) {
        return TIDAL_EINVAL;
    }
    return tidal_sigtypes_intern_n(t, name, strnlen(name, TIDAL_SIGTYPE_NAME_BYTES_MAX), id);
}

int
tidal_sigtypes_find(const tidal_sigtypes *t, const char *name, uint16_t *id)
{
    char key[TIDAL_SIGTYPE_NAME_BYTES_MAX];
    const st_slot *s;

    if (name == NULL || !make_key(name, strnlen(name, TIDAL_SIGTYPE_NAME_BYTES_MAX), key)) {
        return TIDAL_ENOENT;
    }
    if ((s = tidal_hmap_find(&t->by_name, key)) == NULL) {
        return TIDAL_ENOENT;
    }
    *id = s->id;
    return 0;
}

const char *
tidal_sigtypes_name(const tidal_sigtypes *t, uint16_t id)
{
    if (id == 0 || id > t->count) {
        return NULL;
    }
    return t->names[id - 1];
}

size_t
tidal_sigtypes_count(const tidal_sigtypes *t)
{
    return t->count;
}
