/*
 * Stopping `tidal demo` on SIGINT (Ctrl-C) or SIGTERM without leaving its
 * temporary directory, and the ipc sockets in it, behind.
 *
 * No code runs in a signal handler.  The two signals are blocked before the
 * demo starts any thread, so every thread (nng's included) inherits the mask,
 * and one watcher thread takes them with sigwait(): it is an ordinary thread,
 * free to call anything.
 *   - The first signal is only recorded.  The run polls
 *     tidal_demo_stop_signal() in its loops and between phases, and when it
 *     is set closes its runtimes, removes the directory and exits 128 + the
 *     signal.
 *   - A second signal means the run did not stop (a call is stuck): the
 *     watcher removes the directory itself and exits at once, runtimes open.
 * A SIGINT that is ignored when the demo starts (a background job of a
 * script) stays ignored, as a shell expects.
 */
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tools/demo_stop.h"

static struct {
    sigset_t set; /* the signals the watcher takes */
    sigset_t old; /* the mask it found */
    pthread_t thread;
    bool running;     /* the watcher was started and not yet joined */
    atomic_int sig;   /* 0, or the first signal */
    atomic_bool done; /* the run is over: the next signal is the wake-up */
    atomic_bool has_dir;
    char dir[PATH_MAX]; /* written before has_dir is set, read after */
} w;

static const char *
sig_name(int sig)
{
    return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal";
}

static int
rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    (void)remove(p); /* keep going: remove what can be removed */
    return 0;
}

void
tidal_demo_rmtree(const char *dir)
{
    (void)nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void *
watch(void *arg)
{
    (void)arg;
    for (;;) {
        int sig;
        if (sigwait(&w.set, &sig) != 0) {
            continue;
        }
        if (atomic_load(&w.done)) {
            return NULL;
        }
        int none = 0;
        if (atomic_compare_exchange_strong(&w.sig, &none, sig)) {
            fprintf(stderr, "tidal demo: %s: stopping (send it again to exit at once)\n",
                    sig_name(sig));
            continue;
        }
        if (atomic_load_explicit(&w.has_dir, memory_order_acquire)) {
            tidal_demo_rmtree(w.dir);
        }
        fprintf(stderr, "tidal demo: %s again: exiting now, temporary directory removed\n",
                sig_name(sig));
        _exit(DEMO_EXIT_SIGNAL(sig));
    }
}

int
tidal_demo_stop_watch(void)
{
    struct sigaction sa;
    sigemptyset(&w.set);
    sigaddset(&w.set, SIGTERM);
    if (sigaction(SIGINT, NULL, &sa) == 0 && sa.sa_handler != SIG_IGN) {
        sigaddset(&w.set, SIGINT);
    }
    int rv = pthread_sigmask(SIG_BLOCK, &w.set, &w.old);
    if (rv != 0) {
        return rv;
    }
    if ((rv = pthread_create(&w.thread, NULL, watch, NULL)) != 0) {
        (void)pthread_sigmask(SIG_SETMASK, &w.old, NULL); /* restoring a mask it just read */
        return rv;
    }
    w.running = true;
    return 0;
}

void
tidal_demo_stop_dir(const char *dir)
{
    if (dir == NULL || strlen(dir) >= sizeof(w.dir)) {
        atomic_store_explicit(&w.has_dir, false, memory_order_release);
        return;
    }
    memcpy(w.dir, dir, strlen(dir) + 1);
    atomic_store_explicit(&w.has_dir, true, memory_order_release);
}

int
tidal_demo_stop_signal(void)
{
    return atomic_load(&w.sig);
}

void
tidal_demo_stop_unwatch(void)
{
    if (!w.running) {
        return;
    }
    atomic_store(&w.done, true);
    /* SIGTERM is always in the set, and a thread-directed one reaches the
     * watcher whoever else blocks it */
    (void)pthread_kill(w.thread, SIGTERM);
    (void)pthread_join(w.thread, NULL);
    w.running = false;
    (void)pthread_sigmask(SIG_SETMASK, &w.old, NULL);
}
