/*
 * Addressing: an actor's address (url, name, key) and the full names fault
 * rules and traces match ("name" or "name/<lowercase hex key>").
 */
#include <stdio.h>
#include <string.h>

#include "runtime/internal.h"

int
tidal_addr_make(tidal_addr *out, const char *url, const char *name, const void *key,
                size_t key_len)
{
    if (out == NULL || url == NULL || name == NULL || (key == NULL && key_len > 0)) {
        return TIDAL_EINVAL;
    }
    size_t ul = strlen(url), nl = strlen(name);
    if (ul == 0 || ul >= TIDAL_URL_BYTES_MAX || nl == 0 || nl >= TIDAL_NAME_BYTES_MAX ||
        key_len > TIDAL_KEY_BYTES_MAX) {
        return TIDAL_EINVAL;
    }
    memset(out, 0, sizeof(*out));
    memcpy(out->url, url, ul);
    memcpy(out->name, name, nl);
    if (key_len > 0) {
        memcpy(out->key, key, key_len);
    }
    out->key_len = (uint8_t)key_len;
    return 0;
}

int
tidal_addr_virtual(tidal_addr *out, const tidal_addr *owner, const void *key, size_t key_len)
{
    if (owner == NULL || key_len == 0) {
        return TIDAL_EINVAL;
    }
    return tidal_addr_make(out, owner->url, owner->name, key, key_len);
}

/* The length of to's name if to can be sent to (a name, the key and the
 * url within their bounds), else 0.  Cannot fail. */
size_t
tidal__addr_dest_ok(const tidal_addr *to)
{
    size_t n = strnlen(to->name, TIDAL_NAME_BYTES_MAX);
    bool ok = n > 0 && n < TIDAL_NAME_BYTES_MAX && to->key_len <= TIDAL_KEY_BYTES_MAX &&
              strnlen(to->url, TIDAL_URL_BYTES_MAX) < TIDAL_URL_BYTES_MAX;
    return ok ? n : 0;
}

/* "name" or "name/<lowercase hex key>": the names fault rules match.
 * Truncates to cap.  Cannot fail. */
void
tidal__fullname(const char *name, const uint8_t *key, uint32_t key_len, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = (size_t)snprintf(out, cap, "%s", name);
    if (key_len == 0 || n + 2 >= cap) {
        return;
    }
    out[n++] = '/';
    for (uint32_t i = 0; i < key_len && n + 2 < cap; i++) {
        out[n++] = hex[key[i] >> 4];
        out[n++] = hex[key[i] & 15];
    }
    out[n] = '\0';
}

/* "owner" or "owner/<hex key>": the name fault rules match.  Cannot fail
 * (truncates to cap). */
void
tidal__unit_fullname(const struct tidal__actor *act, const struct tidal__unit *u, char *out,
                     size_t cap)
{
    tidal__fullname(act->name, u->key, u->is_virtual ? u->key_len : 0, out, cap);
}
