#!/usr/bin/env bash
# lc_run_ping.sh LC_RUN LC_PING MODE - raweth between two lc_run --net hosts
# (namespaces behind an emulated switch, shaped to 1 Gbit/s): lc_ping's
# latency and bandwidth runs must complete. Exits 77 without root.
set -u
lc_run=$1 lc_ping=$2 mode=$3
if [ "$(id -u)" != 0 ]; then
  echo "SKIP: lc_run --net needs root"
  exit 77
fi
out=$(LC_PROVIDER=raweth LC_RAWETH_MODE=$mode LC_LOG_LEVEL=info \
  "$lc_run" -n 2 --net 1gbit --timeout 150 -- "$lc_ping" -b 1 -e 1M -f 16 -n 50 2>&1)
rc=$?
echo "$out"
if [ $rc -ne 0 ] && [ "$mode" = xdp ] && grep -q "xdp:" <<<"$out"; then
  echo "SKIP: xdp mode unavailable here"
  exit 77
fi
[ $rc -eq 0 ] || { echo "FAIL: lc_run exited $rc"; exit 1; }
grep -q "provider raweth" <<<"$out" || { echo "FAIL: lc_ping did not use raweth"; exit 1; }
grep -q "counters lc0" <<<"$out" || { echo "FAIL: no raweth counters logged at close"; exit 1; }
echo PASS
