#!/usr/bin/env bash
# check_needed.sh - liblioncub.so needs only the C library (libc, libm, the
# dynamic loader; libpthread/libdl where glibc still splits them) and, in a
# sanitizer build, the sanitizers' runtimes: never libfabric, libxdp, libbpf
# or libibverbs, which live in the provider modules.
# usage: check_needed.sh path/to/liblioncub.so
set -euo pipefail
lib=$1
needed=$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
[[ -n $needed ]] || { echo "lib_needed: readelf found no NEEDED entry in $lib"; exit 1; }
bad=0
while read -r so; do
    case $so in
    libc.so.* | libm.so.* | libpthread.so.* | libdl.so.* | ld-linux*.so.* | libasan.so.* | libubsan.so.*) ;;
    *) echo "lib_needed: $lib needs $so"; bad=1 ;;
    esac
done <<<"$needed"
[[ $bad = 0 ]] || exit 1
echo "lib_needed: $lib needs only:" $needed
