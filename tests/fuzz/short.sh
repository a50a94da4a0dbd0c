#!/usr/bin/env bash
# short.sh - the fuzz suite of `make test` (about 30 s). Ends with
# "fuzz: N passed, N failed".
#   1. the committed seed corpus is what make_corpus generates
#   2. every seed and every known-finding input replays clean, both builds
#   3. 12 s of fuzzing per build finds nothing, and its inputs did reach
#      dfuDNLOAD-IDLE, erases, programs, mass erase, blocks verified in
#      flash (and uploads / READ UNPROTECT where the build has them), so
#      the checks were exercised
#   4. a harness built to corrupt a bootloader byte is caught within 20 s,
#      so the checks can fail
set -u
dir=build/host/fuzz
secs=${FUZZ_SHORT_SECONDS:-12}
work=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-short.XXXXXX")
trap 'rm -rf "$work"' EXIT
pass=0; fail=0
verdict() { if [ "$1" -eq 0 ]; then pass=$((pass + 1)); echo "ok $2"; else fail=$((fail + 1)); echo "FAIL $2"; fi; }

# 1
mkdir -p "$work/gen"
"$dir/make_corpus" "$work/gen" && diff -r "$work/gen" tests/fuzz/corpus >/dev/null
verdict $? "seed corpus up to date (make fuzz-corpus regenerates it)"

# 2: one process per build runs every file once and stops at the first failure
for b in fuzz_dfu fuzz_dfu_opts; do
  files=(tests/fuzz/corpus/*)
  for f in tests/fuzz/findings/*; do [ -f "$f" ] && files+=("$f"); done
  "$dir/$b" "${files[@]}" >"$work/replay.log" 2>&1
  rc=$?
  [ $rc -eq 0 ] || echo "  $b: $(grep -m1 -E 'INVARIANT VIOLATED|ERROR: AddressSanitizer|runtime error|deadly signal' "$work/replay.log") in $(grep '^Running:' "$work/replay.log" | tail -1)"
  verdict $rc "$b replays the seed corpus and tests/fuzz/findings/ cleanly (${#files[@]} inputs)"
done

# 3: both builds at once, one core each
for b in fuzz_dfu fuzz_dfu_opts; do
  mkdir -p "$work/c-$b" "$work/f-$b"
  cp tests/fuzz/corpus/* "$work/c-$b/"
  FUZZ_STATS="$work/$b.stats" "$dir/$b" -max_total_time="$secs" -max_len=4096 \
    -artifact_prefix="$work/f-$b/" "$work/c-$b" >"$work/$b.log" 2>&1 &
done
wait
for b in fuzz_dfu fuzz_dfu_opts; do
  runs=$(grep -oE '^Done [0-9]+ runs' "$work/$b.log" | grep -oE '[0-9]+')
  stats=$(tail -1 "$work/$b.stats" 2>/dev/null)
  get() { echo "$stats" | sed -E "s/.*\\<$1 ([0-9]+).*/\\1/"; }
  need="dnload_idle erase program mass_erase verified"
  [ "$b" = fuzz_dfu ] && need="$need upload" || need="$need unprotect"
  missing=""
  for k in $need; do [ "$(get "$k")" -gt 0 ] 2>/dev/null || missing="$missing $k"; done
  finds=$(ls "$work/f-$b" | wc -l)
  echo "  $b: ${runs:-?} executions in $secs s, $finds findings; $stats"
  for f in "$work/f-$b"/*; do
    [ -e "$f" ] || continue
    mkdir -p "$dir/short-findings" && cp "$f" "$dir/short-findings/"
    echo "  finding (kept in $dir/short-findings/): $(grep -m1 -E 'INVARIANT VIOLATED|ERROR: AddressSanitizer|runtime error|deadly signal' "$work/$b.log")"
  done
  [ -n "$runs" ] && [ "$finds" -eq 0 ]
  verdict $? "$b: $secs s of fuzzing, no finding"
  [ -z "$missing" ] && [ -n "$stats" ]
  verdict $? "$b: inputs reached the checked states (missing:${missing:- none})"
done

# 4
mkdir -p "$work/c-break" "$work/f-break"
cp tests/fuzz/corpus/* "$work/c-break/"
"$dir/fuzz_dfu_break" -max_total_time=20 -max_len=4096 -artifact_prefix="$work/f-break/" \
  "$work/c-break" >"$work/break.log" 2>&1
rc=$?
grep -q 'INVARIANT VIOLATED: bootloader byte' "$work/break.log" && [ $rc -ne 0 ] && [ -n "$(ls "$work/f-break")" ]
verdict $? "a harness that corrupts the bootloader is reported (exit $rc: $(grep -m1 'INVARIANT VIOLATED' "$work/break.log"))"

echo "fuzz: $pass passed, $fail failed"
[ $fail -eq 0 ]
