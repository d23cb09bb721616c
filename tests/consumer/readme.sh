#!/usr/bin/env bash
# ctest: builds every program the README shows (a ```c block right after a
# "<!-- snippet: NAME -->" line) from the README's own text, against the
# installed tidal, once with find_package and once with plain pkg-config, and
# runs each build.
#   readme.sh BUILD_DIR SOURCE_DIR CC
set -euo pipefail
build=$1 src=$2 cc=$3
tmp=$(mktemp -d /tmp/tidal-readme-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null

mkdir -p "$tmp/snippets"
awk -v dir="$tmp/snippets" '
  /^<!-- snippet: [a-z_]+ -->$/ { name = $3; next }
  name != "" && /^```c$/ { out = dir "/" name ".c"; inside = 1; next }
  inside && /^```$/ { inside = 0; name = ""; close(out); next }
  inside { print > out }
' "$src/README.md"
snippets=("$tmp"/snippets/*.c)
[ -e "${snippets[0]}" ] || { echo "readme.sh: no snippet found in README.md"; exit 1; }

{
  echo 'cmake_minimum_required(VERSION 3.18)'
  echo 'project(readme_snippets LANGUAGES C)'
  echo 'find_package(tidal REQUIRED)'
  for f in "${snippets[@]}"; do
    n=$(basename "$f" .c)
    echo "add_executable($n $f)"
    echo "target_link_libraries($n PRIVATE tidal::tidal)"
  done
} >"$tmp/snippets/CMakeLists.txt"
cmake -S "$tmp/snippets" -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="-Wall -Wextra -Werror ${CONSUMER_CFLAGS:-}" >/dev/null
cmake --build "$tmp/cmake" >/dev/null

export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig:$tmp/prefix/lib/x86_64-linux-gnu/pkgconfig"
libdir=$(pkg-config --variable=libdir tidal)
for f in "${snippets[@]}"; do
  n=$(basename "$f" .c)
  echo "== $n (find_package)"
  "$tmp/cmake/$n"
  echo "== $n (pkg-config)"
  # shellcheck disable=SC2046
  "$cc" -Wall -Wextra -Werror ${CONSUMER_CFLAGS:-} -o "$tmp/$n-pc" "$f" \
    $(pkg-config --cflags --libs tidal)
  LD_LIBRARY_PATH="$libdir" "$tmp/$n-pc"
done
echo "readme.sh: ${#snippets[@]} snippets built both ways and ran"
