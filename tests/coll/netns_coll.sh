#!/usr/bin/env bash
# netns_coll.sh - the collectives on an emulated 1 Gbit/s Ethernet: p = 4 ranks
# in their own network namespaces (lc_run --net), every op checked against the
# reference (lc_coll -c 1 exits non-zero on any wrong element).
# Environment: LC_PROVIDER (default tcp), NETEM (lc_run --netem impairment),
# RANKS (default 4), MAXSIZE (largest count of elements per rank, K/M suffixes,
# default 4M). lc_coll takes bytes: count * 4 (float), * 2 (bf16), and for
# allgather (-d uint8, one byte per element) the gathered count * RANKS.
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
ranks=${RANKS:-4}
netem=()
[ -n "${NETEM:-}" ] && netem=(--netem "$NETEM")
elements() { # 4M -> 4194304
  local n=${1%[KkMmGg]}
  case $1 in
  *[Kk]) n=$((n << 10)) ;;
  *[Mm]) n=$((n << 20)) ;;
  *[Gg]) n=$((n << 30)) ;;
  esac
  echo "$n"
}
max=$(elements "${MAXSIZE:-4M}")
for op in vote vote-avg vote-l1 allreduce-fp32 allreduce-bf16 allgather; do
  case $op in
  allreduce-bf16) scale=2 dtype=() ;;
  allgather) scale=$ranks dtype=(-d uint8) ;;
  *) scale=4 dtype=() ;;
  esac
  "$bin/lc_run" -n "$ranks" --net 1gbit "${netem[@]}" --timeout 240 -- \
    env LC_PROVIDER="$provider" "$bin/lc_coll" --op "$op" "${dtype[@]}" -b $((100003 * scale)) \
    -e $((max * scale)) -f 40 -n 2 -w 1 -c 1 --link 1gbit ||
    { echo "FAILED: $op over $provider ${NETEM:-}"; exit 1; }
done
echo "netns collectives over $provider ${NETEM:+with netem $NETEM}: all results correct"
