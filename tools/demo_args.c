/*
 * `tidal demo`'s command line: its help and its options.
 *
 * Every option that takes a value takes it as `--opt value` or `--opt=value`.
 * A bad argument gets one line on stderr that names it and says what would
 * be accepted, and the demo exits 2 without running.  Numbers are read whole:
 * a sign, a space, trailing bytes or a value out of range is refused, never
 * truncated or wrapped.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tools/demo.h"

static const char *const transports[] = {"inproc", "ipc", "tcp"};

void
tidal_demo_help(FILE *f)
{
    fprintf(f,
            "usage: tidal demo [--seed N] [--transport inproc|ipc|tcp] [--messages N]\n"
            "                  [--dir DIR] [--real] [--json]\n"
            "\n"
            "Runs two actor nodes and a three-region cluster in this process, checks\n"
            "them, and prints a report.  node-a listens on inproc and node-b on ipc (in\n"
            "a temporary directory) unless --transport puts both on one transport.\n"
            "The cluster runs in a deterministic simulation seeded from --seed (one\n"
            "thread, simulated time and network) unless --real is given, so one seed\n"
            "gives one report: every fault count and check, every figure but the\n"
            "timings (throughput, ask latency, frames) of phase 2.\n"
            "\n"
            "phases:\n"
            "  1. runtime under faults: N increments to %d counter actors on node-a and\n"
            "     N/4 messages to %d virtual session actors on node-b, through a seeded\n"
            "     profile of drops, duplicates, delays and reorders.  Checks\n"
            "     handled = sent - dropped + duplicated.  Then replays the last envelopes\n"
            "     sent to counter-0 and checks that it flags each as a duplicate.\n"
            "  2. throughput and ask latency: 10 x N messages node-a -> node-b, then\n"
            "     %u asks, with faults cleared.\n"
            "  3. replication: three regions on one cluster, with roaming agents,\n"
            "     hide/unhide races, duplicated and reordered links and a partition,\n"
            "     then healed.  Checks convergence, no double counting, hard negatives,\n"
            "     visibility and bad input.  Simulated: visibility and convergence are\n"
            "     in simulated time, and the bad input is injected into the simulation.\n"
            "\n"
            "options (each also as --opt=value):\n"
            "  --seed N         seed of every fault decision, decimal or 0x hex (default 1)\n"
            "  --transport T    inproc, ipc or tcp, for both nodes (and the cluster under\n"
            "                   --real)\n"
            "  --messages N     phase 1's increments, 1 to %u (default %u)\n"
            "  --dir DIR        make the temporary directory (ipc sockets) inside DIR,\n"
            "                   an existing directory, path of at most %u bytes\n"
            "                   (default /tmp)\n"
            "  --real           run the cluster on real threads over the transport\n"
            "                   (default inproc) instead of the simulation: its faults\n"
            "                   then depend on timing, and visibility and convergence\n"
            "                   are in real time; bad input goes through an nng socket\n"
            "  --json           print the report as one JSON object\n"
            "  -h, --help       print this help\n"
            "\n"
            "exit codes:\n"
            "  0    every check passed\n"
            "  1    a check failed, or the run could not complete\n"
            "  2    usage error: a bad option or value (nothing was run)\n"
            "  130  stopped by SIGINT (Ctrl-C), 143 stopped by SIGTERM: the run stops,\n"
            "       closes its nodes and removes its temporary directory; a second\n"
            "       signal exits at once, removing the directory first\n",
            COUNTERS, SESSIONS, ASKS, DEMO_MESSAGES_MAX, DEMO_MESSAGES_DEFAULT, DEMO_DIR_BYTES_MAX);
}

static bool
set_seed(struct opts *o, const char *name, const char *v)
{
    if (!tidal_tool_read_u64(v, UINT64_MAX, &o->seed)) {
        fprintf(stderr, "tidal demo: %s '%s': not an integer from 0 to %llu (decimal or 0x hex)\n",
                name, v, (unsigned long long)UINT64_MAX);
        return false;
    }
    return true;
}

static bool
set_messages(struct opts *o, const char *name, const char *v)
{
    uint64_t n;
    if (!tidal_tool_read_u64(v, DEMO_MESSAGES_MAX, &n) || n == 0) {
        fprintf(stderr, "tidal demo: %s '%s': not an integer from 1 to %u\n", name, v,
                DEMO_MESSAGES_MAX);
        return false;
    }
    o->messages = (uint32_t)n;
    return true;
}

static bool
set_transport(struct opts *o, const char *name, const char *v)
{
    for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++) {
        if (strcmp(v, transports[i]) == 0) {
            o->transport = transports[i];
            return true;
        }
    }
    fprintf(stderr, "tidal demo: %s '%s': not a transport (want inproc, ipc or tcp)\n", name, v);
    return false;
}

static bool
set_dir(struct opts *o, const char *name, const char *v)
{
    struct stat st;
    if (strlen(v) > DEMO_DIR_BYTES_MAX) {
        fprintf(stderr, "tidal demo: %s '%s': longer than %u bytes (ipc socket paths are short)\n",
                name, v, DEMO_DIR_BYTES_MAX);
        return false;
    }
    if (stat(v, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "tidal demo: %s '%s': not an existing directory\n", name, v);
        return false;
    }
    o->dir = v;
    return true;
}

static bool
set_json(struct opts *o, const char *name, const char *v)
{
    (void)name;
    (void)v;
    o->json = 1;
    return true;
}

static bool
set_real(struct opts *o, const char *name, const char *v)
{
    (void)name;
    (void)v;
    o->real = 1;
    return true;
}

static const struct option {
    const char *name;
    bool takes_value;
    bool (*set)(struct opts *o, const char *name, const char *v); /* prints why on false */
} options[] = {
    {"--seed", true, set_seed},         {"--transport", true, set_transport},
    {"--messages", true, set_messages}, {"--dir", true, set_dir},
    {"--real", false, set_real},        {"--json", false, set_json},
};

static const struct option *
find_option(const char *a, size_t len)
{
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
        if (strlen(options[i].name) == len && memcmp(a, options[i].name, len) == 0) {
            return &options[i];
        }
    }
    return NULL;
}

enum demo_parse
tidal_demo_parse(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){.seed = 1, .messages = DEMO_MESSAGES_DEFAULT};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            tidal_demo_help(stdout);
            return DEMO_HELP;
        }
        const char *eq = strchr(a, '=');
        size_t len = eq != NULL ? (size_t)(eq - a) : strlen(a);
        const struct option *opt = find_option(a, len);
        if (opt == NULL) {
            fprintf(stderr, "tidal demo: unknown argument '%s' (try tidal demo --help)\n", a);
            return DEMO_USAGE;
        }
        const char *v = NULL;
        if (opt->takes_value && eq != NULL) {
            v = eq + 1;
        } else if (opt->takes_value && i + 1 < argc) {
            v = argv[++i];
        } else if (opt->takes_value) {
            fprintf(stderr, "tidal demo: %s needs a value (try tidal demo --help)\n", a);
            return DEMO_USAGE;
        } else if (eq != NULL) {
            fprintf(stderr, "tidal demo: %s takes no value, got '%s'\n", opt->name, a);
            return DEMO_USAGE;
        }
        if (!opt->set(o, opt->name, v)) {
            return DEMO_USAGE;
        }
    }
    return DEMO_RUN;
}
