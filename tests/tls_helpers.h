/*
 * Test certificates for tls+tcp:// (self-signed, P-256, valid two days),
 * made with the openssl command at test time: nothing that expires is
 * kept in the repository.
 */
#ifndef TIDAL_TESTS_TLS_HELPERS_H
#define TIDAL_TESTS_TLS_HELPERS_H

#include <stdio.h>
#include <stdlib.h>

#include "tidal_test.h"

#include <nng/nng.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/supplemental/tls/tls.h> /* after nng.h: it needs NNG_DECL */

/* Writes dir/name.crt (the certificate, CN name) and dir/name.pem (the
 * certificate, then its key, as nng takes them).  Skips the test when the
 * openssl command is missing. */
static inline void
tls_make_cert(const char *dir, const char *name)
{
    if (system("command -v openssl >/dev/null 2>&1") != 0) {
        cr_skip_test("the openssl command is not installed (scripts/deps installs it)");
    }
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout %s/%s.key -out %s/%s.crt -days 2 -subj /CN=%s >/dev/null 2>&1 && "
             "cat %s/%s.crt %s/%s.key > %s/%s.pem",
             dir, name, dir, name, name, dir, name, dir, name, dir, name);
    cr_assert(system(cmd) == 0, "openssl could not make %s's certificate", name);
}

/* Paths dir/name.pem and dir/name.crt. */
static inline void
tls_paths(const char *dir, const char *name, char *pem, char *crt, size_t cap)
{
    snprintf(pem, cap, "%s/%s.pem", dir, name);
    snprintf(crt, cap, "%s/%s.crt", dir, name);
}

/* Dials url with a raw push socket presenting pem and trusting only crt
 * (under name), synchronously, then closes it: 0 once a handshake
 * completed, or nng's error when the listener or this side refused it. */
static inline int
tls_dial(const char *url, const char *pem, const char *crt, const char *name)
{
    nng_tls_config *cfg;
    nng_socket s;
    nng_dialer d;
    cr_assert(nng_tls_config_alloc(&cfg, NNG_TLS_MODE_CLIENT) == 0);
    cr_assert(nng_tls_config_cert_key_file(cfg, pem, NULL) == 0);
    cr_assert(nng_tls_config_ca_file(cfg, crt) == 0);
    cr_assert(nng_tls_config_server_name(cfg, name) == 0);
    cr_assert(nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED) == 0);
    cr_assert(nng_push0_open(&s) == 0);
    cr_assert(nng_dialer_create(&d, s, url) == 0);
    cr_assert(nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg) == 0);
    nng_tls_config_free(cfg);
    int rv = nng_dialer_start(d, 0);
    nng_close(s);
    return rv;
}

#endif /* TIDAL_TESTS_TLS_HELPERS_H */
