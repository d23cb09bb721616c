/*
 * Stopping `tidal demo` on SIGINT and SIGTERM (demo_stop.c): one thread takes
 * both signals with sigwait, so no code runs in a signal handler; the run's
 * loops poll tidal_demo_stop_signal and wind down.
 */
#ifndef TIDAL_TOOLS_DEMO_STOP_H
#define TIDAL_TOOLS_DEMO_STOP_H

/* The demo's exit code for a
 * run a signal stopped: 128 + the signal, as a shell reports it. */
#define DEMO_EXIT_SIGNAL(sig) (128 + (sig))

/* Blocks SIGINT (unless it is ignored) and SIGTERM in the calling thread,
 * and so in every thread it starts later, and starts the thread that takes
 * them.  Call before any other thread exists.  Returns 0 or an errno value;
 * on error nothing is changed. */
int tidal_demo_stop_watch(void);

/* The directory a second signal removes before exiting at once; NULL when
 * there is none any more.  Cannot fail. */
void tidal_demo_stop_dir(const char *dir);

/* 0, or the signal that asked the run to stop.  Cheap: an atomic load. */
int tidal_demo_stop_signal(void);

/* Stops the watcher and restores the signal mask tidal_demo_stop_watch
 * found.  Safe to call when it was not started.  Cannot fail. */
void tidal_demo_stop_unwatch(void);

/* Removes dir and everything under it; what cannot be removed is left.
 * Cannot fail. */
void tidal_demo_rmtree(const char *dir);

#endif /* TIDAL_TOOLS_DEMO_STOP_H */
