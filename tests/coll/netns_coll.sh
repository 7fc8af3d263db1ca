#!/usr/bin/env bash
# netns_coll.sh - the collectives on an emulated 1 Gbit/s Ethernet: p = 4 ranks
# in their own network namespaces (lc_run --net), every op checked against the
# reference (lc_coll -c 1 exits non-zero on any wrong element).
# Environment: LC_PROVIDER (default tcp), NETEM (lc_run --netem impairment),
# RANKS (default 4), MAXSIZE (largest count, default 4M).
# Needs root (namespaces): exits 77 (skipped) without it.
set -u
bin=${LC_BIN:?set LC_BIN to the bin directory of the build}
if [ "$(id -u)" != 0 ]; then
  echo "skipped: needs root to create network namespaces"
  exit 77
fi
if ! ip netns add lc-probe-$$ 2>/dev/null; then
  echo "skipped: cannot create network namespaces here"
  exit 77
fi
ip netns del lc-probe-$$
provider=${LC_PROVIDER:-tcp}
netem=()
[ -n "${NETEM:-}" ] && netem=(--netem "$NETEM")
for op in vote vote-avg vote-l1 allreduce-fp32 allreduce-bf16 allgather; do
  "$bin/lc_run" -n "${RANKS:-4}" --net 1gbit "${netem[@]}" --timeout 240 -- \
    env LC_PROVIDER="$provider" "$bin/lc_coll" --op "$op" -b 100003 -e "${MAXSIZE:-4M}" -f 40 \
    -n 2 -w 1 -c 1 --link 1gbit || { echo "FAILED: $op over $provider ${NETEM:-}"; exit 1; }
done
echo "netns collectives over $provider ${NETEM:+with netem $NETEM}: all results correct"
