#!/usr/bin/env bash
# check_install.sh - install the build into a temporary prefix, then build and
# run a small program against it twice: through CMake's find_package(lioncub)
# and through pkg-config (it loads the raweth module from LIBDIR/lioncub); run
# the installed tools (--version), check that lc_info loads the modules from
# the prefix, check their man pages and lioncub(7) (rendered by man -l when man
# is there); then import the installed Python package (when the build has one)
# and check that it loads the installed library.
# usage: check_install.sh BUILD SRC [PYTHON PYTHON_INSTALL_DIR]
set -euo pipefail
build=$1 src=$2 py=${3:-} pydir=${4:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cat >"$tmp/main.c" <<'C'
#include <stdio.h>
#include <lioncub/lioncub.h>
#include <lioncub/provider.h>
int main(void)
{
    float x[3] = {1.0f, -2.0f, 0.0f};
    uint64_t bits = 0;
    int rc = lc_pack_signs(x, LC_FP32, 3, &bits);
    /* the raweth module, from LIBDIR/lioncub next to the installed library */
    const lc_provider_t *reth = lc_provider_find("raweth");
    printf("lioncub %s: pack rc %d bits %llx, raweth module %s\n", lc_version(NULL), rc,
           (unsigned long long)bits, reth ? "loaded" : lc_last_error());
    return rc || bits != 2 || !reth;
}
C
cat >"$tmp/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.18)
project(consumer C)
find_package(lioncub 0.1 REQUIRED)
add_executable(consumer main.c)
target_link_libraries(consumer PRIVATE lioncub::lioncub)
CM
cmake -S "$tmp" -B "$tmp/b" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/b" >/dev/null
"$tmp/b/consumer"
pc=$(find "$tmp/prefix" -name lioncub.pc)
flags=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --cflags --libs lioncub)
# shellcheck disable=SC2086
cc "$tmp/main.c" $flags -o "$tmp/consumer_pc"
LD_LIBRARY_PATH=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --variable=libdir lioncub) "$tmp/consumer_pc"
echo "install: find_package and pkg-config both work"
for t in lc_info lc_coll lc_ping lc_run $([[ -x $tmp/prefix/bin/lc_train ]] && echo lc_train); do
    "$tmp/prefix/bin/$t" --version | grep -qx "$t (lioncub) [0-9.]*" || {
        echo "install: $t --version failed"
        exit 1
    }
done
pages=$(find "$tmp/prefix" -path '*/man1/lc_*.1' -o -path '*/man7/lioncub.7' | sort)
for p in lc_info.1 lc_run.1 lc_ping.1 lc_coll.1 lioncub.7; do
    grep -q "/$p\$" <<<"$pages" || { echo "install: no man page $p"; exit 1; }
done
if command -v man >/dev/null; then
    for p in $pages; do
        warn=$(MANWIDTH=80 man --warnings -l "$p" 2>&1 >/dev/null)
        [[ -z $warn ]] || { echo "install: man -l $p: $warn"; exit 1; }
    done
    MANWIDTH=80 man -l "$(grep lioncub.7 <<<"$pages")" | grep -q LC_SEGMENT || {
        echo "install: lioncub(7) lacks LC_SEGMENT"
        exit 1
    }
fi
echo "install: the tools run and their man pages are there: $(wc -l <<<"$pages") pages"
# The provider modules sit in LIBDIR/lioncub, and the installed tools load them from there.
mods=$("$tmp/prefix/bin/lc_info" | sed -n '/^provider modules:/,/^providers usable/p')
grep -Eq "^  raweth +loaded +$tmp/prefix/[^ ]*/lioncub/liblioncub-raweth.so" <<<"$mods" || {
    echo "install: lc_info does not load raweth from the prefix:"
    echo "$mods"
    exit 1
}
echo "install: lc_info loads the modules from the prefix:" $(grep -c loaded <<<"$mods")
if [[ -n $py && -n $pydir ]]; then
    [[ $pydir = /* ]] && { echo "install: $pydir is absolute, not under the prefix: not checked"; exit 0; }
    PYTHONPATH=$tmp/prefix/$pydir "$py" - "$tmp/prefix" <<'PY'
import sys, lioncub, lioncub._lib as L
prefix = sys.argv[1]
assert lioncub.__file__.startswith(prefix), lioncub.__file__
assert L._library_path().startswith(prefix), L._library_path()
print(f"install: python package {lioncub.__file__} loads {L._library_path()}, version {lioncub.version()}")
PY
fi
