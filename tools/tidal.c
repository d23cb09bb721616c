/*
 * The `tidal` command: one binary, one verb per subcommand.  Usage errors
 * exit 2 with one line saying what is wrong; --help on every verb.
 */
#include <stdio.h>
#include <string.h>

#include "tidal/runtime.h"
#include "tools/tool.h"

static const struct verb {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} verbs[] = {
    {"demo", tidal_tool_demo, "run a multi-actor workload under seeded faults and report"},
};

static void
usage(FILE *f)
{
    fprintf(f, "usage: tidal <verb> [options]   (tidal <verb> --help for its options)\n\nverbs:\n");
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        fprintf(f, "  %-8s %s\n", verbs[i].name, verbs[i].summary);
    }
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "tidal: missing verb (try tidal --help)\n");
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        if (strcmp(argv[1], verbs[i].name) == 0) {
            int code = verbs[i].run(argc - 1, argv + 1);
            tidal_library_fini(); /* every runtime is closed: leave nothing to leak checkers */
            return code;
        }
    }
    fprintf(stderr, "tidal: unknown verb '%s' (try tidal --help)\n", argv[1]);
    return 2;
}
