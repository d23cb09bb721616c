#!/usr/bin/env bash
# ctest: installs the build tree into a temporary prefix, then configures,
# builds and runs tests/consumer against it, with CMake and with pkg-config.
set -euo pipefail
build=$1 src=$2 cc=$3
tmp=$(mktemp -d /tmp/tidal-consumer-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cmake -S "$src/tests/consumer" -B "$tmp/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="${CONSUMER_CFLAGS:-}" >/dev/null
cmake --build "$tmp/build" >/dev/null
"$tmp/build/consumer"
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig:$tmp/prefix/lib/x86_64-linux-gnu/pkgconfig"
# plain pkg-config links the shared library; --static the archive
"$cc" ${CONSUMER_CFLAGS:-} -o "$tmp/consumer-pc" "$src/tests/consumer/main.c" \
  $(pkg-config --cflags --libs tidal)
LD_LIBRARY_PATH="$(pkg-config --variable=libdir tidal)" "$tmp/consumer-pc"
# (ldd's output is read whole: grep -q closing the pipe early would fail it under pipefail)
needed=$(ldd "$tmp/consumer-pc")
case "$needed" in
*libtidal.so.*) ;;
*) echo "consumer-pc: not linked to libtidal.so"; exit 1 ;;
esac
"$cc" ${CONSUMER_CFLAGS:-} -o "$tmp/consumer-static" \
  "$src/tests/consumer/main.c" $(pkg-config --cflags --static --libs tidal | sed 's/-ltidal/-l:libtidal.a/')
"$tmp/consumer-static"
"$tmp/prefix/bin/tidal" --help >/dev/null
