/*
 * The fault trace as a message-sequence chart, one standalone SVG file:
 * one lane per actor (node-i, region-i, its sessions, shipper-i,
 * reconciler-i), an arrow per traced envelope from its sender's lane to its
 * receiver's, coloured and labelled by what the fault layer did to it, and
 * the scenario's own events (faults set, heals, crashes) as bands across
 * every lane, with a legend and the run's verdicts on top.
 *
 * The trace names a link by tidal_link_id(from, to), a hash: the chart
 * computes it for every pair of actor names the scenario knows (its
 * regions' actors and every session's actor in every region) and looks the
 * trace's ids up.  A link it cannot name goes to the lane "other".
 *
 * The trace has no clock: entries are ordered per runtime.  Rows are
 * ordered by the scenario event they follow (each event recorded every
 * runtime's trace position), then by region, then by trace order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenarios/harness.h"

#define LANES_PER_REGION 5
#define LANE_W 120
#define ROW_H 16
#define TOP 200

static const char *const lane_kind[LANES_PER_REGION] = {"node", "region", "sessions", "shipper",
                                                        "reconciler"};
static const char *const kind_name[TIDAL_FAULT_COUNT] = {
#define SC__FAULT_NAME(name, desc) #name,
    TIDAL_FAULT_MAP(SC__FAULT_NAME)
#undef SC__FAULT_NAME
};
static const char *const kind_desc[TIDAL_FAULT_COUNT] = {
#define SC__FAULT_DESC(name, desc) desc,
    TIDAL_FAULT_MAP(SC__FAULT_DESC)
#undef SC__FAULT_DESC
};
static const char *const kind_colour[] = {"#d62728", "#1f77b4", "#ff7f0e",
                                          "#9467bd", "#7f7f7f", "#2ca02c"};
_Static_assert(sizeof(kind_colour) / sizeof(kind_colour[0]) == TIDAL_FAULT_COUNT,
               "one colour per fault kind");

struct link {
    uint64_t id;
    int from, to; /* lanes */
};

struct names {
    char name[SC_REGIONS_MAX * (4 + SC_WRITERS_MAX * SC_SESSIONS_MAX)][64];
    int lane[SC_REGIONS_MAX * (4 + SC_WRITERS_MAX * SC_SESSIONS_MAX)];
    int n;
};

static void
add_name(struct names *nm, int lane, const char *fmt, unsigned a, uint64_t hi, uint64_t lo)
{
    snprintf(nm->name[nm->n], sizeof(nm->name[0]), fmt, a, (unsigned long long)hi,
             (unsigned long long)lo);
    nm->lane[nm->n++] = lane;
}

static void
known_names(const sc_run *run, struct names *nm)
{
    nm->n = 0;
    for (int i = 0; i < run->n; i++) {
        int base = i * LANES_PER_REGION;
        add_name(nm, base + 0, "node-%u", (unsigned)i, 0, 0);
        add_name(nm, base + 1, "region-%u", (unsigned)i, 0, 0);
        add_name(nm, base + 3, "shipper-%u", (unsigned)i, 0, 0);
        add_name(nm, base + 4, "reconciler-%u", (unsigned)i, 0, 0);
        for (int k = 0; k < run->nw; k++) {
            for (int s = 0; s < run->w[k].m.nsess; s++) {
                tidal_session_id sid = run->w[k].m.sess[s].sid;
                add_name(nm, base + 2, "region-%u/%016llx%016llx", (unsigned)i, sid.hi, sid.lo);
            }
        }
    }
}

static int
link_cmp(const void *a, const void *b)
{
    const struct link *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Every (from, to) pair of known names by link id, sorted; NULL if out of
 * memory. */
static struct link *
link_table(const struct names *nm, size_t *n)
{
    struct link *t = malloc((size_t)nm->n * (size_t)nm->n * sizeof(*t) + 1);
    if (t == NULL) {
        return NULL;
    }
    *n = 0;
    for (int a = 0; a < nm->n; a++) {
        for (int b = 0; b < nm->n; b++) {
            t[(*n)++] = (struct link){tidal_link_id(nm->name[a], nm->name[b]), nm->lane[a],
                                      nm->lane[b]};
        }
    }
    qsort(t, *n, sizeof(*t), link_cmp);
    return t;
}

static void
xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

struct row {
    int epoch;
    const sc_fault *f;
};

static int
row_cmp(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    if (x->epoch != y->epoch) {
        return x->epoch - y->epoch;
    }
    if (x->f->region != y->f->region) {
        return (int)x->f->region - (int)y->f->region;
    }
    return x->f->index < y->f->index ? -1 : x->f->index > y->f->index;
}

/* The last SC_CHART_FAULTS_MAX faults, each with the number of events
 * recorded before it, in chart order. */
static struct row *
chart_rows(const sc_run *run, size_t *n)
{
    size_t first = run->nfaults > SC_CHART_FAULTS_MAX ? run->nfaults - SC_CHART_FAULTS_MAX : 0;
    struct row *rows = malloc((run->nfaults - first + 1) * sizeof(*rows));
    if (rows == NULL) {
        return NULL;
    }
    *n = 0;
    for (size_t i = first; i < run->nfaults; i++) {
        const sc_fault *f = &run->faults[i];
        int epoch = 0;
        while (epoch < run->nevents && run->events[epoch].trace_at[f->region] <= f->index) {
            epoch++;
        }
        rows[(*n)++] = (struct row){epoch, f};
    }
    qsort(rows, *n, sizeof(*rows), row_cmp);
    return rows;
}

static void
header(FILE *f, const sc_run *run, int lanes, size_t nrows, int nevents)
{
    int w = 40 + LANE_W * lanes, h = TOP + ROW_H * (int)(nrows + (size_t)nevents + 2);
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "font-family=\"monospace\" font-size=\"11\">\n",
            w < 900 ? 900 : w, h);
    fprintf(f, "<defs>");
    for (int k = 0; k < TIDAL_FAULT_COUNT; k++) {
        fprintf(f, "<marker id=\"a%d\" markerWidth=\"8\" markerHeight=\"8\" refX=\"7\" "
                   "refY=\"4\" orient=\"auto\"><path d=\"M0,0 L8,4 L0,8 z\" fill=\"%s\"/>"
                   "</marker>", k, kind_colour[k]);
    }
    fprintf(f, "</defs>\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"10\" y=\"18\" font-size=\"14\">scenario ");
    xml_text(f, run->scenario ? run->scenario : "?");
    fprintf(f, ", seed %llu, %s, %zu faults traced (%s)</text>\n", (unsigned long long)run->seed,
            sc_transport_name(run->transport), run->nfaults,
            nrows < run->nfaults ? "the last ones drawn" : "all drawn");
    for (int i = 0; i < run->nchecks; i++) {
        fprintf(f, "<text x=\"10\" y=\"%d\" fill=\"%s\">%s %s: ", 34 + 12 * (i % 9),
                run->checks[i].pass ? "#2ca02c" : "#d62728", run->checks[i].pass ? "PASS" : "FAIL",
                run->checks[i].name);
        xml_text(f, run->checks[i].reason);
        fprintf(f, "</text>\n");
    }
    for (int k = 0; k < TIDAL_FAULT_COUNT; k++) {
        int x = 10 + 150 * k;
        fprintf(f, "<g class=\"legend\"><line x1=\"%d\" y1=\"150\" x2=\"%d\" y2=\"150\" "
                   "stroke=\"%s\" stroke-width=\"2\" marker-end=\"url(#a%d)\"/>"
                   "<text x=\"%d\" y=\"154\">%s</text><text x=\"%d\" y=\"166\" fill=\"#555\">%s"
                   "</text></g>\n",
                x, x + 30, kind_colour[k], k, x + 36, kind_name[k], x, kind_desc[k]);
    }
}

static void
lanes_draw(FILE *f, const sc_run *run, int lanes, int height)
{
    for (int l = 0; l < lanes; l++) {
        int x = 40 + LANE_W * l + LANE_W / 2;
        char name[48];
        if (l == lanes - 1) {
            snprintf(name, sizeof(name), "other");
        } else {
            snprintf(name, sizeof(name), "%s-%d", lane_kind[l % LANES_PER_REGION],
                     l / LANES_PER_REGION);
        }
        fprintf(f, "<g class=\"lane\"><text x=\"%d\" y=\"%d\" text-anchor=\"middle\" "
                   "font-weight=\"bold\">%s</text><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
                   "stroke=\"#ccc\"/></g>\n",
                x, TOP - 12, name, x, TOP - 6, x, height);
    }
    (void)run;
}

static int
lane_x(int lane)
{
    return 40 + LANE_W * lane + LANE_W / 2;
}

int
sc_chart_write(const sc_run *run, const char *path)
{
    struct names *nm = malloc(sizeof(*nm));
    size_t nlinks = 0, nrows = 0;
    struct link *links = nm ? (known_names(run, nm), link_table(nm, &nlinks)) : NULL;
    struct row *rows = chart_rows(run, &nrows);
    FILE *f = fopen(path, "w");
    int rv = 0;
    if (nm == NULL || links == NULL || rows == NULL || f == NULL) {
        rv = f == NULL ? TIDAL_EIO : TIDAL_ENOMEM;
        goto out;
    }
    int lanes = run->n * LANES_PER_REGION + 1, other = lanes - 1;
    int height = TOP + ROW_H * (int)(nrows + (size_t)run->nevents + 2);
    header(f, run, lanes, nrows, run->nevents);
    lanes_draw(f, run, lanes, height);
    int y = TOP + ROW_H, epoch = 0;
    for (size_t i = 0; i <= nrows; i++) {
        int until = i < nrows ? rows[i].epoch : run->nevents;
        for (; epoch < until; epoch++, y += ROW_H) { /* the events before this row */
            fprintf(f, "<g class=\"event\"><rect x=\"0\" y=\"%d\" width=\"100%%\" height=\"%d\" "
                       "fill=\"#fff3c4\"/><text x=\"4\" y=\"%d\">", y - ROW_H + 4, ROW_H - 2, y);
            xml_text(f, run->events[epoch].what);
            fprintf(f, "</text></g>\n");
        }
        if (i == nrows) {
            break;
        }
        const sc_fault *ft = rows[i].f;
        struct link key = {.id = ft->e.link_id};
        struct link *l = bsearch(&key, links, nlinks, sizeof(*links), link_cmp);
        int from = l ? l->from : other, to = l ? l->to : other;
        int k = ft->e.kind < TIDAL_FAULT_COUNT ? ft->e.kind : 0;
        int x1 = lane_x(from), x2 = lane_x(to);
        if (x1 == x2) {
            x2 += LANE_W / 3; /* a link within one lane: a short stub */
        }
        fprintf(f, "<g class=\"fault\"><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
                   "stroke=\"%s\" stroke-width=\"1.5\" marker-end=\"url(#a%d)\"/>"
                   "<text x=\"%d\" y=\"%d\" fill=\"%s\">%s",
                x1, y, x2, y, kind_colour[k], k, (x1 < x2 ? x1 : x2) + 4, y - 2, kind_colour[k],
                kind_name[k]);
        if (k == TIDAL_FAULT_DELAY || k == TIDAL_FAULT_REORDER || k == TIDAL_FAULT_REPLAY) {
            fprintf(f, " %u", ft->e.param);
        }
        fprintf(f, " #%llu</text></g>\n", (unsigned long long)ft->e.link_seq);
        y += ROW_H;
    }
    fprintf(f, "</svg>\n");
out:
    if (f != NULL && fclose(f) != 0 && rv == 0) {
        rv = TIDAL_EIO;
    }
    free(rows);
    free(links);
    free(nm);
    return rv;
}
