/*
 * nng 1.5.2 (Debian's libnng1): a TLS connection whose handshake fails is
 * never freed.  src/supplemental/tls/tls_common.c tls_tcp_error removes the
 * aios waiting on the connection from its queues without completing them,
 * so the transport's negotiation callback never runs and the pipe, its TLS
 * connection (an mbedTLS context and its buffers: 9 to 66 KB here) are
 * never reaped.  nng 1.6.0 completes them with the error
 * (nni_aio_finish_error in the same loop).  No tidal code is involved.
 * Every failed handshake on a tls+tcp:// listener costs that much for the
 * life of the process (docs/dependencies.md).  Build and run, with
 * certificates a (the listener) and b (a stranger) made as tests/tls_helpers.h
 * makes them:
 *   cc -fsanitize=address tests/nng/leak_tls_handshake.c -lnng -o leak
 *   ./leak a.pem a.crt b.pem 2>&1 | grep -c "leak of"
 */
#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/supplemental/tls/tls.h>
#include <stdio.h>
static nng_tls_config *cfg(nng_tls_mode mode, const char *pem, const char *crt) {
  nng_tls_config *c; nng_tls_config_alloc(&c, mode);
  nng_tls_config_cert_key_file(c, pem, NULL); nng_tls_config_ca_file(c, crt);
  nng_tls_config_auth_mode(c, NNG_TLS_AUTH_MODE_REQUIRED);
  if (mode == NNG_TLS_MODE_CLIENT) nng_tls_config_server_name(c, "a");
  return c; }
int main(int argc, char **argv) { if (argc != 4) return 2;
  nng_socket pull, push; nng_listener l; nng_dialer d; nng_sockaddr sa; char url[64];
  nng_pull0_open(&pull); nng_listener_create(&l, pull, "tls+tcp://127.0.0.1:0");
  nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, cfg(NNG_TLS_MODE_SERVER, argv[1], argv[2]));
  nng_listener_start(l, 0); nng_listener_get_addr(l, NNG_OPT_LOCADDR, &sa);
  snprintf(url, sizeof(url), "tls+tcp://127.0.0.1:%u", (unsigned)((sa.s_in.sa_port >> 8) | ((sa.s_in.sa_port & 255) << 8)));
  nng_push0_open(&push); nng_dialer_create(&d, push, url);
  nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg(NNG_TLS_MODE_CLIENT, argv[3], argv[2]));
  printf("dial: %s (refused, as it should be)\n", nng_strerror(nng_dialer_start(d, 0)));
  nng_close(push); nng_close(pull); nng_fini(); return 0; }
