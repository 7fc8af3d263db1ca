#!/usr/bin/env bash
# tools_cli.sh - the tools as a user meets them: --version and --help exit 0;
# malformed values, unknown options and stray arguments exit 2 with a message
# naming the option and the accepted form; lc_run's -np and its prefixes;
# lc_coll's table, CSV and JSON on
# one rank; lc_info's interfaces and variable check; lc_ping -n N gives
# exactly N round trips and N messages per size in both tables (two ranks
# over loopback, lc_run).
set -u
bin=${LC_BIN:?set LC_BIN to the bin directory of the build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

for t in lc_coll lc_ping lc_info lc_run; do
  "$bin/$t" --version | grep -qx "$t (lioncub) [0-9.]*" || fail "$t --version"
  "$bin/$t" --help | grep -q "^usage: $t" || fail "$t --help"
done

# lc_run: mpirun's -np; into a pipe lines pass unprefixed (machine-readable
# output stays CSV), --prefix asks for "[rank] ", --no-prefix wins after it
for opts in "" "--prefix --no-prefix"; do
  # shellcheck disable=SC2086
  out=$("$bin/lc_run" --timeout 20 -np 2 $opts -- sh -c 'echo "r,$LC_RANK"' | sort)
  [ "$out" = "$(printf 'r,0\nr,1')" ] || fail "lc_run -np 2 $opts: '$out'"
done
out=$("$bin/lc_run" --timeout 20 -np 1 --prefix -- echo -np 3)
[ "$out" = "[0] -np 3" ] || fail "lc_run: the program's own -np was changed: '$out'"

# command line -> the words the error must contain
expect_usage_error() { # tool "args" pattern
  local out rc
  # shellcheck disable=SC2086
  out=$("$bin/$1" $2 2>&1 >/dev/null)
  rc=$?
  [ $rc -eq 2 ] || fail "$1 $2: exit $rc, wanted 2"
  grep -qF -- "$3" <<<"$out" || fail "$1 $2: '$out' lacks '$3'"
}
expect_usage_error lc_coll "-c yes" "-c/--check 'yes': expected an integer 0..1"
expect_usage_error lc_coll "-n 3x" "-n/--iters '3x': expected an integer >= 1"
expect_usage_error lc_coll "--seed banana" "--seed 'banana': expected an unsigned decimal integer"
expect_usage_error lc_coll "-b 64K extra" "unexpected argument 'extra'"
expect_usage_error lc_coll "--op sum" "expected one of vote, vote-avg, vote-l1, allreduce, allgather"
expect_usage_error lc_coll "-d bits --op allreduce" "accepted: float, bfloat16"
expect_usage_error lc_coll "-i 1M -f 2" "exclude each other"
expect_usage_error lc_coll "--frobnicate" "unknown option '--frobnicate'"
expect_usage_error lc_ping "-n 10x" "-n/--iters '10x'"
expect_usage_error lc_ping "--window 0" "--window '0': expected an integer 1..65536"
expect_usage_error lc_ping "-b 4M -e 1K" "is below"
expect_usage_error lc_info "-e extra" "unexpected argument 'extra'"

# lc_coll on one rank: sizes in bytes, '#' headers, the summary lines, CSV, JSON
export LC_RANK=0 LC_SIZE=1
out=$("$bin/lc_coll" --op allreduce -b 64K -e 256K -n 2 -w 1 -J "$tmp/r.json") ||
  fail "lc_coll on one rank"
echo "$out"
rows=$(grep -v '^#' <<<"$out")
[ "$(wc -l <<<"$rows")" -eq 3 ] || fail "lc_coll: 3 sizes wanted"
read -r size count type redop _ <<<"$(head -1 <<<"$rows")"
[ "$size $count $type $redop" = "65536 16384 float sum" ] || fail "lc_coll row: $size $count $type $redop"
grep -q '^# Avg bus bandwidth    : ' <<<"$out" || fail "no Avg bus bandwidth line"
grep -q '^# Out of bounds values : 0 OK' <<<"$out" || fail "no Out of bounds line"
grep -q '"average_bus_bandwidth"' "$tmp/r.json" || fail "JSON lacks the summary"
if command -v python3 >/dev/null; then
  python3 -c 'import json, sys; d = json.load(open(sys.argv[1]))
assert [r["size"] for r in d["results"]] == [65536, 131072, 262144], d["results"]
assert d["results"][0]["out_of_place"]["nwrong"] == 0' "$tmp/r.json" || fail "JSON content"
fi
csv=$("$bin/lc_coll" --op allgather -d uint8 -b 1000 -n 1 -w 0 --csv) || fail "lc_coll --csv"
[ "$(head -1 <<<"$csv")" = "size,count,type,redop,collective,time_us,algbw_GBps,busbw_GBps,wire_GBps,wrong,floor_pct" ] ||
  fail "CSV header: $(head -1 <<<"$csv")"
grep -q '^1000,1000,uint8,none,allgather,' <<<"$csv" || fail "CSV row: $csv"
unset LC_RANK LC_SIZE

# lc_info: the interfaces that are up, the one each provider would use (tcp
# picks lo without LC_ROOT), speeds unknown where the driver does not say
out=$(env -u LC_ROOT -u LC_TCP_IFNAME "$bin/lc_info") || fail "lc_info"
echo "$out"
grep -Eq '^  lo +[a-z]+ +(unknown|[0-9]+ Mb/s) +[0-9]+ +\*tcp' <<<"$out" || fail "lc_info: lo not marked for tcp"
out=$(LC_SEGMENT=100 "$bin/lc_info" 2>&1)
[ $? -eq 1 ] || fail "lc_info with LC_SEGMENT=100 should exit 1"
grep -q "LC_SEGMENT=100: expected an integer 64..4G, a multiple of 64" <<<"$out" || fail "lc_info: no LC_SEGMENT message"

# lc_ping -n 10: 10 in every row of both tables
out=$("$bin/lc_run" -n 2 --timeout 60 -- "$bin/lc_ping" -b 1 -e 4K -f 8 -n 10 -w 2 --csv) ||
  fail "lc_ping"
echo "$out"
rows=$(grep -E '^(latency|bandwidth),' <<<"$out")
[ "$(grep -c '^latency,' <<<"$rows")" -eq 5 ] || fail "5 latency rows wanted"
[ "$(grep -c '^bandwidth,' <<<"$rows")" -eq 5 ] || fail "5 bandwidth rows wanted"
awk -F, '$3 != 10 { exit 1 }' <<<"$rows" || fail "a row without 10 iterations"
echo "tools: command lines, tables, CSV, JSON and lc_ping -n all as documented"
