/*
 * The catalogue's text format, read and written (docs/catalogue.md):
 *
 *   # a comment; blank lines are skipped too
 *   <id> TAB <title> TAB <created-at> TAB <f1> TAB ... TAB <fD>
 *
 * id: decimal 1..2^64-1; title: 1..FORAGE_TITLE_BYTES_MAX bytes, no TAB;
 * created-at: decimal seconds since the Unix epoch (may be negative); then D
 * finite floats, D the same on every line (the first item sets it), not all
 * zero.  Every refusal names the file and line, and the first bad line stops
 * the load: a catalogue is either wholly valid or not loaded.
 */
#include "catalogue.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <tidal/errors.h>

#include "limits.h"

/* The loader's growing arrays and where it is in the file. */
typedef struct reader {
    const char *name;
    long line;
    char *err;
    forage_catalogue *c;
    size_t cap;                       /* items the arrays hold room for */
    long *lines;                      /* the line of each item, for duplicate reports */
    char *fields[FORAGE_DIM_MAX + 4]; /* the current line's fields */
} reader;

static int
fail(reader *r, int code, const char *fmt, ...)
{
    int n = snprintf(r->err, FORAGE_ERR_BYTES, "%s:%ld: ", r->name, r->line);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && n < FORAGE_ERR_BYTES) {
        vsnprintf(r->err + n, FORAGE_ERR_BYTES - (size_t)n, fmt, ap);
    }
    va_end(ap);
    return code;
}

/* Room for one more item.  On failure nothing is changed. */
static int
grow(reader *r)
{
    forage_catalogue *c = r->c;
    if (c->n < r->cap) {
        return 0;
    }
    size_t cap = r->cap ? r->cap * 2 : 1024;
    uint64_t *ids = realloc(c->ids, cap * sizeof(*ids));
    if (ids == NULL) {
        return TIDAL_ENOMEM;
    }
    c->ids = ids;
    int64_t *created = realloc(c->created, cap * sizeof(*created));
    if (created == NULL) {
        return TIDAL_ENOMEM;
    }
    c->created = created;
    char **titles = realloc(c->titles, cap * sizeof(*titles));
    if (titles == NULL) {
        return TIDAL_ENOMEM;
    }
    c->titles = titles;
    long *lines = realloc(r->lines, cap * sizeof(*lines));
    if (lines == NULL) {
        return TIDAL_ENOMEM;
    }
    r->lines = lines;
    /* dim is known once the first line is parsed, before any grow. */
    float *vec = realloc(c->vec, cap * c->dim * sizeof(*vec));
    if (vec == NULL) {
        return TIDAL_ENOMEM;
    }
    c->vec = vec;
    r->cap = cap;
    return 0;
}

/* Splits line in place at TABs into at most max fields; returns the count of
 * fields the line has (which may exceed max: the rest are not stored). */
static size_t
split(char *line, char **fields, size_t max)
{
    size_t n = 0;
    char *p = line;
    for (;;) {
        char *tab = strchr(p, '\t');
        if (n < max) {
            fields[n] = p;
        }
        n++;
        if (tab == NULL) {
            return n;
        }
        *tab = '\0';
        p = tab + 1;
    }
}

static int
parse_u64(const char *s, uint64_t *out)
{
    if (!isdigit((unsigned char)s[0])) {
        return -1;
    }
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0') {
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

static int
parse_i64(const char *s, int64_t *out)
{
    const char *d = (s[0] == '-') ? s + 1 : s;
    if (!isdigit((unsigned char)d[0])) {
        return -1;
    }
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0') {
        return -1;
    }
    *out = (int64_t)v;
    return 0;
}

/* The floats of one item into row.  On failure the row is garbage and the
 * error is set. */
static int
parse_vector(reader *r, char **fields, float *row)
{
    bool nonzero = false;
    for (size_t i = 0; i < r->c->dim; i++) {
        const char *s = fields[i];
        char *end;
        errno = 0;
        float v = strtof(s, &end);
        if (s[0] == '\0' || isspace((unsigned char)s[0]) || *end != '\0') {
            return fail(r, TIDAL_ECORRUPT, "float %zu: bad float '%.32s'", i + 1, s);
        }
        if (!isfinite(v)) {
            return fail(r, TIDAL_ECORRUPT, "float %zu: NaN or infinite ('%.32s')", i + 1, s);
        }
        row[i] = v;
        nonzero = nonzero || v != 0.0f;
    }
    if (!nonzero) {
        return fail(r, TIDAL_ECORRUPT, "zero vector: it has no direction to compare");
    }
    return 0;
}

/* One data line (no newline) into the next item. */
static int
parse_line(reader *r, char *line)
{
    char **fields = r->fields;
    forage_catalogue *c = r->c;
    size_t nf = split(line, fields, FORAGE_DIM_MAX + 4);
    if (nf < 4) {
        return fail(r, TIDAL_ECORRUPT,
                    "wrong field count: %zu, need id, title, created-at and floats", nf);
    }
    size_t dim = nf - 3;
    if (dim > FORAGE_DIM_MAX) {
        return fail(r, TIDAL_ECORRUPT, "%zu floats, more than the limit %d", dim, FORAGE_DIM_MAX);
    }
    if (c->n == 0 && r->cap == 0) {
        c->dim = dim;
    } else if (dim != c->dim) {
        return fail(r, TIDAL_ECORRUPT, "dimension mismatch: %zu floats, the first item has %zu",
                    dim, c->dim);
    }
    if (c->n >= FORAGE_ITEMS_MAX) {
        return fail(r, TIDAL_ETOOBIG, "more than %d items", FORAGE_ITEMS_MAX);
    }
    uint64_t id;
    if (parse_u64(fields[0], &id) != 0 || id == 0) {
        return fail(r, TIDAL_ECORRUPT, "bad id '%.32s': want a decimal 1..2^64-1", fields[0]);
    }
    size_t tlen = strlen(fields[1]);
    if (tlen == 0 || tlen > FORAGE_TITLE_BYTES_MAX) {
        return fail(r, TIDAL_ECORRUPT, "title of %zu bytes: want 1..%d", tlen,
                    FORAGE_TITLE_BYTES_MAX);
    }
    int64_t created;
    if (parse_i64(fields[2], &created) != 0) {
        return fail(r, TIDAL_ECORRUPT, "bad created-at '%.32s': want decimal seconds", fields[2]);
    }
    if (grow(r) != 0) {
        return fail(r, TIDAL_ENOMEM, "out of memory");
    }
    int rv = parse_vector(r, fields + 3, c->vec + c->n * c->dim);
    if (rv != 0) {
        return rv;
    }
    char *title = strdup(fields[1]);
    if (title == NULL) {
        return fail(r, TIDAL_ENOMEM, "out of memory");
    }
    c->ids[c->n] = id;
    c->created[c->n] = created;
    c->titles[c->n] = title;
    r->lines[c->n] = r->line;
    c->n++;
    return 0;
}

typedef struct id_line {
    uint64_t id;
    long line;
} id_line;

static int
cmp_id_line(const void *a, const void *b)
{
    const id_line *x = a, *y = b;
    if (x->id != y->id) {
        return x->id < y->id ? -1 : 1;
    }
    return x->line < y->line ? -1 : (x->line > y->line);
}

/* Refuses the first (by line) id seen twice. */
static int
check_duplicates(reader *r)
{
    forage_catalogue *c = r->c;
    id_line *v = malloc(c->n * sizeof(*v));
    if (v == NULL) {
        return fail(r, TIDAL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < c->n; i++) {
        v[i] = (id_line){c->ids[i], r->lines[i]};
    }
    qsort(v, c->n, sizeof(*v), cmp_id_line);
    long worst = 0, first = 0;
    uint64_t id = 0;
    for (size_t i = 1; i < c->n; i++) {
        if (v[i].id == v[i - 1].id && (worst == 0 || v[i].line < worst)) {
            worst = v[i].line;
            first = v[i - 1].line;
            id = v[i].id;
        }
    }
    free(v);
    if (worst != 0) {
        r->line = worst;
        return fail(r, TIDAL_ECORRUPT, "duplicate id %" PRIu64 " (first on line %ld)", id, first);
    }
    return 0;
}

/* Reads every line; the buffer holds one byte more than a line may, so a
 * line that fills it without a newline is too long. */
static int
read_lines(reader *r, FILE *f)
{
    char buf[FORAGE_LINE_BYTES_MAX + 2];
    while (fgets(buf, sizeof(buf), f) != NULL) {
        r->line++;
        size_t len = strlen(buf);
        bool newline = len > 0 && buf[len - 1] == '\n';
        if (!newline && len > FORAGE_LINE_BYTES_MAX) {
            return fail(r, TIDAL_ECORRUPT, "line too long: more than %d bytes",
                        FORAGE_LINE_BYTES_MAX);
        }
        if (newline) {
            buf[--len] = '\0';
        }
        if (len > 0 && buf[len - 1] == '\r') {
            buf[--len] = '\0';
        }
        if (len == 0 || buf[0] == '#') {
            continue;
        }
        int rv = parse_line(r, buf);
        if (rv != 0) {
            return rv;
        }
    }
    if (ferror(f)) {
        return fail(r, TIDAL_EIO, "read error");
    }
    if (r->c->n == 0) {
        return fail(r, TIDAL_ECORRUPT, "no items");
    }
    return check_duplicates(r);
}

int
forage_catalogue_read(FILE *f, const char *name, forage_catalogue **out, char *err)
{
    *out = NULL;
    err[0] = '\0';
    forage_catalogue *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        snprintf(err, FORAGE_ERR_BYTES, "%s: out of memory", name);
        return TIDAL_ENOMEM;
    }
    reader r = {.name = name, .err = err, .c = c};
    int rv = read_lines(&r, f);
    free(r.lines);
    if (rv != 0) {
        forage_catalogue_free(c);
        return rv;
    }
    *out = c;
    return 0;
}

int
forage_catalogue_load(const char *path, forage_catalogue **out, char *err)
{
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, FORAGE_ERR_BYTES, "%s: %s", path, strerror(errno));
        return TIDAL_EIO;
    }
    int rv = forage_catalogue_read(f, path, out, err);
    fclose(f);
    return rv;
}

int
forage_catalogue_write(const forage_catalogue *c, FILE *f)
{
    for (size_t i = 0; i < c->n; i++) {
        fprintf(f, "%" PRIu64 "\t%s\t%" PRId64, c->ids[i], c->titles[i], c->created[i]);
        const float *row = c->vec + i * c->dim;
        for (size_t j = 0; j < c->dim; j++) {
            fprintf(f, "\t%.4f", row[j]);
        }
        fputc('\n', f);
    }
    return ferror(f) ? TIDAL_EIO : 0;
}

long
forage_catalogue_find(const forage_catalogue *c, uint64_t id)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->ids[i] == id) {
            return (long)i;
        }
    }
    return -1;
}

void
forage_catalogue_free(forage_catalogue *c)
{
    if (c == NULL) {
        return;
    }
    if (c->titles != NULL) {
        for (size_t i = 0; i < c->n; i++) {
            free(c->titles[i]);
        }
    }
    free(c->titles);
    free(c->ids);
    free(c->created);
    free(c->vec);
    free(c);
}
