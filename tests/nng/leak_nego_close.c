/*
 * nng 1.5.2 (Debian's libnng1): an ipc or tcp connection that finishes its
 * SP handshake just as its listener closes is never freed, with no tidal
 * code involved.  The transport moves the negotiated pipe to its queue of
 * pipes waiting for an accept, the closing listener no longer accepts, and
 * the pipe and the transport's endpoint (ipc_ep or tcptran_ep, which counts
 * the pipe as a reference) keep each other alive: LeakSanitizer reports a
 * cycle of "indirect" leaks, the pipe allocated on an nng thread and the
 * endpoint under nng_listener_create.  A dialer that closes as its
 * connection completes leaks the same way.  nng 1.9.0 reworked it (commit
 * 11dbeed1, "leave them in the match list where they might be picked up by
 * ep_match, or leak").  Here: four push sockets redial every millisecond
 * while a pull socket listens and closes twenty times.  Build and run:
 *   cc -fsanitize=address tests/nng/leak_nego_close.c -lnng -o nego
 *   for i in $(seq 30); do ./nego ipc:///tmp/nego$i $i; done 2>&1 | grep -c "^SUMMARY"
 * 25 runs in 30 leaked here over ipc, 19 in 20 over tcp://127.0.0.1:port,
 * none over inproc.  tidal hits it when a region closes while a peer redials
 * it (test_check's crash-restart over ipc, 1 CI run so far), so a sanitized
 * libtidal passes over what nng allocates inside nng_listen* and nng_dial*
 * (runtime/carrier_nng.c, __lsan_default_suppressions); with
 * LSAN_OPTIONS=suppressions=F, F holding those two lines, this program
 * reports nothing in 30 runs.
 */
#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) { if (argc < 3) return 2; const char *url = argv[1];
  nng_socket push[4];
  for (int i = 0; i < 4; i++) { nng_push0_open(&push[i]);
    nng_socket_set_ms(push[i], NNG_OPT_RECONNMINT, 1); nng_socket_set_ms(push[i], NNG_OPT_RECONNMAXT, 1);
    nng_dial(push[i], url, NULL, NNG_FLAG_NONBLOCK); }
  for (int k = 0; k < 20; k++) { nng_socket pull; nng_pull0_open(&pull); nng_listen(pull, url, NULL, 0);
    usleep(500 + (unsigned)((atoi(argv[2]) + k) * 997) % 3000); nng_close(pull); }
  for (int i = 0; i < 4; i++) nng_close(push[i]);
  usleep(100000); return 0; }
