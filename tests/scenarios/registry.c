/* The matrix: every family's scenarios, in one list. */
#include <string.h>

#include "scenarios/scenarios.h"

#define SC_SCENARIOS_MAX 32

static sc_scenario all[SC_SCENARIOS_MAX];
static size_t nall;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void
add(const sc_scenario *s, size_t n)
{
    for (size_t i = 0; i < n && nall < SC_SCENARIOS_MAX; i++) {
        all[nall++] = s[i];
    }
}

static void
build(void)
{
    add(sc__network, sc__nnetwork);
    add(sc__nodes, sc__nnodes);
    add(sc__clocks, sc__nclocks);
    add(sc__data, sc__ndata);
}

const sc_scenario *
sc_scenarios(size_t *n)
{
    pthread_once(&once, build);
    *n = nall;
    return all;
}

const sc_scenario *
sc_find(const char *name)
{
    size_t n;
    const sc_scenario *s = sc_scenarios(&n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(s[i].name, name) == 0) {
            return &s[i];
        }
    }
    return NULL;
}
