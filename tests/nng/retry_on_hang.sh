#!/bin/sh
# Runs a test binary with a time limit and, only if it hung (timeout's 124),
# once more.  For test_tls_refused alone: nng 1.5.2 never completes a TLS
# negotiation whose handshake failed, and closing a socket that held one can
# wait on it for good (docs/dependencies.md, "A failed TLS handshake").  A
# failure of any other kind is the test's verdict and is not retried; a
# second hang fails.
#   retry_on_hang.sh SECONDS BINARY [ARGS...]
limit=$1
shift
timeout "$limit" "$@"
rc=$?
if [ "$rc" -ne 124 ]; then
  exit "$rc"
fi
echo "retry_on_hang: $1 hung for ${limit} s (nng 1.5.2 TLS close); running it once more" >&2
timeout "$limit" "$@"
