#!/usr/bin/env bash
# ctest: libtidal.so exports exactly the functions that include/tidal/ marks
# TIDAL_API, nothing internal (docs/abi.md), and carries its SONAME.
set -euo pipefail
lib=$1 include=$2
tmp=$(mktemp -d /tmp/tidal-abi-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# A sanitized build also exports LeakSanitizer's hook (runtime/carrier_nng.c),
# which is not tidal's API.
nm -D --defined-only "$lib" | awk '$2 == "T" && $3 != "__lsan_default_suppressions" {print $3}' |
    sort >"$tmp/exported"
cat "$include"/tidal/*.h | tr '\n' ' ' | grep -o 'TIDAL_API [^(;]*(' |
    grep -o 'tidal_[a-z0-9_]*($' | tr -d '(' | sort >"$tmp/declared"
if ! diff -u "$tmp/declared" "$tmp/exported"; then
    echo "exports: libtidal.so's exported functions differ from the TIDAL_API declarations"
    exit 1
fi
n=$(wc -l <"$tmp/exported")
[ "$n" -gt 50 ] || { echo "exports: only $n functions exported"; exit 1; }
objdump -p "$lib" | grep -q 'SONAME *libtidal\.so\.' || { echo "exports: no SONAME"; exit 1; }
echo "exports: $n functions, as declared"
