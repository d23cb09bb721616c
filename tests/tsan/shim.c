/*
 * The runner behind tests/tsan/shim.h: registry, main, and the failure paths.
 *
 * Why a child process per test, as Criterion does: a test may leave static
 * state behind (the seeded random source, fault tables, open descriptors), a
 * failed assertion leaves its runtimes and their threads running, and a
 * crash or a hang must cost one test, not the binary.  The parent itself
 * never starts a thread and never calls nng - it only forks, waits and
 * reports - because nng 1.5.2 panics ("nng is not fork-reentrant safe") when
 * a forked child uses it after the parent did, and TSan kills a child that
 * starts threads after a fork from a multi-threaded parent (die_after_fork).
 *
 * Inside the child a failed cr_assert longjmps back to the runner, which
 * still runs the fini (Criterion's order: suite init, test init, the test,
 * test fini, suite fini).  An assertion on a thread other than the test's
 * has no runner frame to jump to: it records the failure and ends the child.
 *
 * The child reports one byte through a pipe (P, F or S) and exits 0; TSan,
 * when it reported anything, replaces that exit status with its exitcode
 * (66 by default, which scripts/tsan keeps), so a test that passed but raced
 * is reported as RACE and fails the run.  A child that dies by a signal
 * (TSan's own handler turns SIGSEGV into exit 66 with no byte written), or
 * exits without a byte, is a CRASH; one past its time limit is killed with
 * its process group and is a TIMEOUT.
 */
#include "shim.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* TSan's default exitcode: the status of a process that reported a race. */
#define SHIM_TSAN_EXIT 66
/* How long one test may run when it names no .timeout. */
#define SHIM_DEFAULT_TIMEOUT_S 300.0

static struct tidal_shim_test *shim_tests;
static struct tidal_shim_suite *shim_suites;

/* The running test's state (the child's, or the runner's with --no-fork). */
static jmp_buf shim_jmp;
static bool shim_jmp_armed;
static pthread_t shim_test_thread;
static atomic_bool shim_failed;
static int shim_result_fd = -1;
enum { SHIM_JMP_FAIL = 1, SHIM_JMP_SKIP = 2 };

/* The child being waited for, for the parent's SIGINT/SIGTERM handler. */
static volatile sig_atomic_t shim_child_pid;

void
tidal_shim_register_test(struct tidal_shim_test *t)
{
    t->next = shim_tests;
    shim_tests = t;
}

void
tidal_shim_register_suite(struct tidal_shim_suite *s)
{
    s->next = shim_suites;
    shim_suites = s;
}

static void
shim_vprint(const char *file, int line, const char *level, const char *what, const char *fmt,
            va_list ap)
{
    /* One buffer, one write: lines from several threads do not interleave. */
    char buf[4096];
    int n = snprintf(buf, sizeof(buf), "[%s] %s:%d: ", level, file, line);
    if (n < 0 || (size_t)n >= sizeof(buf))
        n = 0;
    if (fmt[0] != '\0') {
        int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
        n = m < 0 ? n : (size_t)(n + m) >= sizeof(buf) ? (int)sizeof(buf) - 1 : n + m;
    }
    if (what != NULL && (size_t)n < sizeof(buf) - 1) {
        int m = snprintf(buf + n, sizeof(buf) - (size_t)n, "%sthe expression (%s) is false",
                         fmt[0] != '\0' ? ": " : "", what);
        n = m < 0 ? n : (size_t)(n + m) >= sizeof(buf) ? (int)sizeof(buf) - 1 : n + m;
    }
    if ((size_t)n < sizeof(buf) - 1)
        buf[n++] = '\n';
    else
        buf[sizeof(buf) - 1] = '\n';
    fflush(stdout);
    (void)!write(STDERR_FILENO, buf, (size_t)n);
}

static void
shim_report(char result)
{
    if (shim_result_fd >= 0)
        (void)!write(shim_result_fd, &result, 1);
}

__attribute__((noreturn)) static void
shim_leave(int how)
{
    if (shim_jmp_armed && pthread_equal(pthread_self(), shim_test_thread))
        longjmp(shim_jmp, how);
    /* Another thread, or outside a test: no frame of the runner to go back
     * to.  End the process with the verdict. */
    shim_report(how == SHIM_JMP_SKIP ? 'S' : 'F');
    fflush(NULL);
    exit(1);
}

void
tidal_shim_abort_(const char *file, int line, const char *what, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    shim_vprint(file, line, "FAIL", what, fmt, ap);
    va_end(ap);
    atomic_store(&shim_failed, true);
    shim_leave(SHIM_JMP_FAIL);
}

void
tidal_shim_expect_(const char *file, int line, const char *what, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    shim_vprint(file, line, "FAIL", what, fmt, ap);
    va_end(ap);
    atomic_store(&shim_failed, true);
}

void
tidal_shim_str_(const char *file, int line, int op, const char *what, const char *a,
                const char *b, const char *fmt, ...)
{
    bool equal = a != NULL && b != NULL && strcmp(a, b) == 0;
    if (equal == (op == 0))
        return;
    va_list ap;
    va_start(ap, fmt);
    shim_vprint(file, line, "FAIL", what, fmt, ap);
    va_end(ap);
    fprintf(stderr, "[FAIL]   left:  \"%s\"\n[FAIL]   right: \"%s\"\n", a ? a : "(null)",
            b ? b : "(null)");
    atomic_store(&shim_failed, true);
    shim_leave(SHIM_JMP_FAIL);
}

void
tidal_shim_skip_(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    shim_vprint(file, line, "SKIP", NULL, fmt, ap);
    va_end(ap);
    shim_leave(SHIM_JMP_SKIP);
}

void
tidal_shim_log_(const char *file, int line, const char *level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    shim_vprint(file, line, level, NULL, fmt, ap);
    va_end(ap);
}

static const struct tidal_shim_opts *
shim_suite_opts(const char *name)
{
    for (struct tidal_shim_suite *s = shim_suites; s != NULL; s = s->next) {
        if (strcmp(s->name, name) == 0)
            return &s->opts;
    }
    return NULL;
}

/* Runs one test here, in this process and on this thread; returns its
 * verdict: 'P', 'F' or 'S'. */
static char
shim_run_here(const struct tidal_shim_test *t)
{
    /* volatile: read after a longjmp back into this frame */
    const struct tidal_shim_opts *volatile so = shim_suite_opts(t->suite);
    volatile bool skipped = false;
    volatile int phase = 0;
    atomic_store(&shim_failed, false);
    shim_test_thread = pthread_self();
    shim_jmp_armed = true;

    /* Each phase runs once: a jump out of one comes back here and goes on
     * with the next.  After a failure or a skip, what is left of the setup
     * and the body is passed over and the teardown still runs, as in
     * Criterion. */
    if (setjmp(shim_jmp) == SHIM_JMP_SKIP)
        skipped = true;
    while (phase < 5) {
        int p = phase++;
        if (p <= 2 && (atomic_load(&shim_failed) || skipped))
            continue;
        switch (p) {
        case 0:
            if (so != NULL && so->init != NULL)
                so->init();
            break;
        case 1:
            if (t->opts.init != NULL)
                t->opts.init();
            break;
        case 2:
            t->fn();
            break;
        case 3:
            if (t->opts.fini != NULL)
                t->opts.fini();
            break;
        default:
            if (so != NULL && so->fini != NULL)
                so->fini();
            break;
        }
    }
    shim_jmp_armed = false;
    if (atomic_load(&shim_failed))
        return 'F';
    return skipped ? 'S' : 'P';
}

static double
shim_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
shim_on_signal(int sig)
{
    pid_t pid = (pid_t)shim_child_pid;
    if (pid > 0) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* A test past its time limit has hung: before it is killed, the stack of
 * every thread of every process in its group (the test, and any program it
 * started) goes to stderr, so that a hang seen once in CI can be read
 * afterwards.  Needs gdb (scripts/deps installs it); without it, one line
 * says so.  The runner is single-threaded, so fork+exec here is safe. */
static void
shim_dump_group(pid_t pgid)
{
    DIR *d = opendir("/proc");
    if (d == NULL) {
        return;
    }
    fprintf(stderr, "tsan runner: process group %d hung: the stacks of its threads follow\n",
            (int)pgid);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char *end;
        long p = strtol(de->d_name, &end, 10);
        if (*end != '\0' || p <= 0) {
            continue;
        }
        char path[64], stat[512];
        snprintf(path, sizeof(path), "/proc/%ld/stat", p);
        FILE *f = fopen(path, "r");
        if (f == NULL) {
            continue;
        }
        size_t n = fread(stat, 1, sizeof(stat) - 1, f);
        fclose(f);
        stat[n] = '\0';
        /* after the command name, which may hold spaces: state ppid pgrp */
        char *rest = strrchr(stat, ')');
        char state;
        int ppid, pgrp;
        if (rest == NULL || sscanf(rest + 1, " %c %d %d", &state, &ppid, &pgrp) != 3 ||
            pgrp != (int)pgid) {
            continue;
        }
        fprintf(stderr, "tsan runner: process %ld\n", p);
        fflush(NULL);
        char cmd[256];
        snprintf(cmd, sizeof(cmd),
                 "command -v gdb >/dev/null || { echo 'tsan runner: no gdb, no stacks'; exit; }; "
                 "gdb -p %ld -batch -nx -q -ex 'thread apply all bt' </dev/null 1>&2",
                 p);
        if (system(cmd) == -1) {
            fprintf(stderr, "tsan runner: could not run gdb: %s\n", strerror(errno));
        }
    }
    closedir(d);
}

enum shim_verdict { V_PASS, V_FAIL, V_SKIP, V_RACE, V_CRASH, V_TIMEOUT };
static const char *const shim_verdict_name[] = {"PASS", "FAIL", "SKIP", "RACE", "CRASH",
                                                "TIMEOUT"};

/* Runs one test in a child process; the verdict comes from its result byte,
 * its exit status, and the clock. */
static enum shim_verdict
shim_run_forked(const struct tidal_shim_test *t, double timeout_s, char *detail, size_t cap)
{
    int fds[2];
    detail[0] = '\0';
    /* Close-on-exec, and never blocking on the parent's side: a program the
     * test started may outlive it holding a copy of the write end, and the
     * byte is read only once the child has exited - it is there or never. */
    if (pipe2(fds, O_CLOEXEC) != 0) {
        snprintf(detail, cap, "pipe: %s", strerror(errno));
        return V_CRASH;
    }
    if (fcntl(fds[0], F_SETFL, O_NONBLOCK) != 0) {
        snprintf(detail, cap, "fcntl: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return V_CRASH;
    }
    fflush(NULL); /* or the child would print the parent's buffered lines again */
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(detail, cap, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return V_CRASH;
    }
    if (pid == 0) {
        close(fds[0]);
        /* Its own process group: a timeout kills the test and whatever it
         * started (kill -9 tests run child programs). */
        setpgid(0, 0);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        shim_result_fd = fds[1];
        char r = shim_run_here(t);
        shim_report(r);
        fflush(NULL);
        exit(0);
    }
    close(fds[1]);
    setpgid(pid, pid); /* also from here: no window where a kill misses the group */
    shim_child_pid = pid;
    double deadline = shim_now_s() + timeout_s;
    int status = 0;
    bool timed_out = false;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR) {
            snprintf(detail, cap, "waitpid: %s", strerror(errno));
            break;
        }
        if (shim_now_s() > deadline) {
            shim_dump_group(pid);
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            timed_out = true;
            break;
        }
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    shim_child_pid = 0;
    char result = 0;
    ssize_t n = read(fds[0], &result, 1);
    if (n != 1)
        result = 0;
    close(fds[0]);

    if (timed_out) {
        snprintf(detail, cap, "killed after %.0f s", timeout_s);
        return V_TIMEOUT;
    }
    if (WIFSIGNALED(status)) {
        snprintf(detail, cap, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
        return V_CRASH;
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code == SHIM_TSAN_EXIT && result == 0) {
        /* TSan's own handler caught a deadly signal and exited with its
         * code: the test never got to a verdict. */
        snprintf(detail, cap, "died; ThreadSanitizer reported (a deadly signal?)");
        return V_CRASH;
    }
    if (code == SHIM_TSAN_EXIT) {
        snprintf(detail, cap, "ThreadSanitizer reported (test body: %s)",
                 result == 'P' ? "passed" : result == 'S' ? "skipped" : "failed");
        return V_RACE;
    }
    if (result == 'P' && code == 0)
        return V_PASS;
    if (result == 'S' && code == 0)
        return V_SKIP;
    if (result == 'F')
        return V_FAIL;
    snprintf(detail, cap, "exited with status %d without a verdict", code);
    return V_CRASH;
}

static int
shim_cmp(const void *pa, const void *pb)
{
    const struct tidal_shim_test *a = *(const struct tidal_shim_test *const *)pa;
    const struct tidal_shim_test *b = *(const struct tidal_shim_test *const *)pb;
    int c = strcmp(a->suite, b->suite);
    return c != 0 ? c : strcmp(a->name, b->name);
}

static void
shim_usage(FILE *f, const char *argv0)
{
    fprintf(f,
            "usage: %s [--list] [--filter=SUITE/NAME-GLOB] [--timeout=SECONDS] [--no-fork]\n"
            "  Runs every test one after another, each in a child process.\n"
            "  --no-fork runs them in this process (for a debugger; one test at a time).\n"
            "  --jobs N, -jN and --short-filename are accepted for Criterion's command\n"
            "  lines and ignored: tests always run one at a time.\n",
            argv0);
}

int
main(int argc, char **argv)
{
    const char *filter = NULL;
    double timeout_s = SHIM_DEFAULT_TIMEOUT_S;
    bool list = false, fork_each = true;
    const char *env = getenv("TIDAL_SHIM_TIMEOUT_S");
    if (env != NULL && atof(env) > 0)
        timeout_s = atof(env);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--list") == 0) {
            list = true;
        } else if (strncmp(a, "--filter=", 9) == 0) {
            filter = a + 9;
        } else if (strcmp(a, "--filter") == 0 && i + 1 < argc) {
            filter = argv[++i];
        } else if (strncmp(a, "--timeout=", 10) == 0 && atof(a + 10) > 0) {
            timeout_s = atof(a + 10);
        } else if (strcmp(a, "--no-fork") == 0) {
            fork_each = false;
        } else if (strcmp(a, "--jobs") == 0 && i + 1 < argc) {
            i++;
        } else if (strncmp(a, "--jobs=", 7) == 0 || strncmp(a, "-j", 2) == 0 ||
                   strcmp(a, "--short-filename") == 0 || strcmp(a, "-S") == 0) {
            /* Criterion's; nothing to do */
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            shim_usage(stdout, argv[0]);
            return 0;
        } else {
            fprintf(stderr, "%s: unknown argument '%s'\n", argv[0], a);
            shim_usage(stderr, argv[0]);
            return 2;
        }
    }

    size_t n = 0;
    for (struct tidal_shim_test *t = shim_tests; t != NULL; t = t->next)
        n++;
    struct tidal_shim_test **tests = calloc(n ? n : 1, sizeof(*tests));
    if (tests == NULL) {
        perror("calloc");
        return 2;
    }
    size_t k = 0;
    char full[512];
    for (struct tidal_shim_test *t = shim_tests; t != NULL; t = t->next) {
        snprintf(full, sizeof(full), "%s/%s", t->suite, t->name);
        if (filter == NULL || fnmatch(filter, full, 0) == 0)
            tests[k++] = t;
    }
    /* Criterion's order: by suite, then by name. */
    qsort(tests, k, sizeof(*tests), shim_cmp);
    if (list) {
        for (size_t i = 0; i < k; i++)
            printf("%s/%s\n", tests[i]->suite, tests[i]->name);
        free(tests);
        return 0;
    }

    signal(SIGINT, shim_on_signal);
    signal(SIGTERM, shim_on_signal);
    unsigned counts[6] = {0};
    double start = shim_now_s();
    for (size_t i = 0; i < k; i++) {
        const struct tidal_shim_test *t = tests[i];
        const struct tidal_shim_opts *so = shim_suite_opts(t->suite);
        char detail[256] = "";
        enum shim_verdict v;
        double t0 = shim_now_s();
        if (t->opts.disabled || (so != NULL && so->disabled)) {
            v = V_SKIP;
            snprintf(detail, sizeof(detail), "disabled");
        } else {
            double limit = t->opts.timeout > 0                ? t->opts.timeout
                           : so != NULL && so->timeout > 0    ? so->timeout
                                                               : timeout_s;
            printf("[RUN ] %s::%s\n", t->suite, t->name);
            fflush(stdout);
            if (fork_each) {
                v = shim_run_forked(t, limit, detail, sizeof(detail));
            } else {
                char r = shim_run_here(t);
                v = r == 'P' ? V_PASS : r == 'S' ? V_SKIP : V_FAIL;
            }
        }
        counts[v]++;
        printf("[%-4s] %s::%s (%.2f s)%s%s\n", shim_verdict_name[v], t->suite, t->name,
               shim_now_s() - t0, detail[0] ? ": " : "", detail);
        fflush(stdout);
    }
    unsigned failed = counts[V_FAIL] + counts[V_RACE] + counts[V_CRASH] + counts[V_TIMEOUT];
    printf("[====] Synthesis: Tested: %zu | Passing: %u | Failing: %u | Skipped: %u "
           "(races %u, crashes %u, timeouts %u) in %.1f s\n",
           k, counts[V_PASS], failed, counts[V_SKIP], counts[V_RACE], counts[V_CRASH],
           counts[V_TIMEOUT], shim_now_s() - start);
    free(tests);
    if (k == 0 && filter != NULL) {
        fprintf(stderr, "no test matches '%s'\n", filter);
        return 1;
    }
    return failed ? 1 : 0;
}
