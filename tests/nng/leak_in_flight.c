/*
 * nng 1.5.2 (Debian's libnng1): a message in flight towards a pull socket
 * that closes is sometimes never freed (3-7% of runs here, over inproc and
 * ipc), with no tidal code involved.  Sender: blocking nng_sendmsg in a
 * thread; receiver: blocking nng_recvmsg in a thread that pauses now and then;
 * every message is freed by whoever owns it.  Build and run:
 *   cc -fsanitize=address tests/nng/leak_in_flight.c -lnng -lpthread -o leak
 *   for i in $(seq 50); do ./leak inproc://x $i; done 2>&1 | grep -c "Direct leak"
 * tidal hits it only when an actor is stopped while another thread is still
 * sending to it (tests/test_shutdown.c, stop_while_another_thread_sends; a
 * region crashed while its peers ship, test_repl_crash.c; a runtime closed
 * while its timer thread sends, test_close_rearm.c; a runtime closed while
 * another streams to it, test_close_traffic.c; a peer that drops every
 * connection it accepts, test_link_refused.c), so those binaries run
 * with tests/nng/leak_in_flight.supp under LeakSanitizer; every other suite,
 * and the demo under valgrind, still fail on any leak.
 */
#include <nng/nng.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/pipeline0/pull.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static nng_socket push, pull;
static atomic_int stop;
static void *sender(void *a) { (void)a;
  while (!atomic_load(&stop)) { nng_msg *m; nng_msg_alloc(&m, 300);
    int rv = nng_sendmsg(push, m, 0); if (rv != 0) { nng_msg_free(m); if (rv == NNG_ECLOSED) break; } }
  return NULL; }
static void *receiver(void *a) { (void)a; int n = 0;
  for (;;) { nng_msg *m; int rv = nng_recvmsg(pull, &m, 0); if (rv != 0) break; nng_msg_free(m); if (++n % 64 == 0) usleep(300); }
  return NULL; }
int main(int argc, char **argv) { (void)argc;
  nng_pull0_open(&pull); nng_listen(pull, argv[1], NULL, 0);
  nng_push0_open(&push); nng_socket_set_ms(push, NNG_OPT_SENDTIMEO, 100);
  nng_socket_set_ms(push, NNG_OPT_RECONNMINT, 10);
  nng_dial(push, argv[1], NULL, NNG_FLAG_NONBLOCK);
  pthread_t s, r; pthread_create(&s, NULL, sender, NULL); pthread_create(&r, NULL, receiver, NULL);
  usleep(5000 + (unsigned)(atoi(argv[2]) * 997) % 30000);
  nng_close(pull); pthread_join(r, NULL);
  usleep(20000); atomic_store(&stop, 1);
  nng_close(push); pthread_join(s, NULL);
  return 0; }
