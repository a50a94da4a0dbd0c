#!/usr/bin/env bash
# short.sh - the fuzz suite of `make test` (about 40 s). Ends with
# "fuzz: N passed, N failed".
#   1. the committed seed corpora are what make_corpus and
#      make_tool_corpus generate
#   2. every seed and every known-finding input replays clean: the core's
#      (tests/fuzz/findings/ without a tool prefix) in both core builds,
#      tests/fuzz/findings/fuzz_stamp-* and fuzz_dfuse-* in their tool
#      fuzzer
#   3. 12 s of fuzzing per core build finds nothing, and its inputs did
#      reach dfuDNLOAD-IDLE, erases, programs, mass erase, blocks verified
#      in flash (and uploads / READ UNPROTECT where the build has them), so
#      the checks were exercised
#   4. a harness built to corrupt a bootloader byte is caught within 20 s,
#      so the checks can fail
#   5. 5 s of each tool fuzzer find nothing and reach their checked states
#      (an image stamped and started by the bootloader's check; a .dfu file
#      read, round-tripped and refused when damaged)
#   6. tool harnesses built to break what they check (a damaged image, a
#      changed data byte) are caught on the seed corpus
set -u
dir=build/host/fuzz
secs=${FUZZ_SHORT_SECONDS:-12}
tool_secs=${FUZZ_TOOL_SHORT_SECONDS:-5}
work=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-short.XXXXXX")
trap 'rm -rf "$work"' EXIT
pass=0; fail=0
verdict() { if [ "$1" -eq 0 ]; then pass=$((pass + 1)); echo "ok $2"; else fail=$((fail + 1)); echo "FAIL $2"; fi; }

# 1
mkdir -p "$work/gen"
"$dir/make_corpus" "$work/gen" && diff -r "$work/gen" tests/fuzz/corpus >/dev/null
verdict $? "seed corpus up to date (make fuzz-corpus regenerates it)"
mkdir -p "$work/gen-stamp" "$work/gen-dfuse"
"$dir/make_tool_corpus" "$work/gen-stamp" "$work/gen-dfuse" &&
  diff -r "$work/gen-stamp" tests/fuzz/corpus-stamp >/dev/null &&
  diff -r "$work/gen-dfuse" tests/fuzz/corpus-dfuse >/dev/null
verdict $? "tool seed corpora up to date (make fuzz-corpus regenerates them)"

# 2: one process per build runs every file once and stops at the first
# failure. Findings are tests/fuzz/findings/<target>-<name>; the core's
# (fuzz_dfu-*, fuzz_dfu_opts-*, and older unprefixed ones) replay in both
# core builds, which read the same encoding.
for b in fuzz_dfu fuzz_dfu_opts fuzz_stamp fuzz_dfuse; do
  case $b in
    fuzz_stamp|fuzz_dfuse) files=(tests/fuzz/corpus-${b#fuzz_}/*) ;;
    *) files=(tests/fuzz/corpus/*) ;;
  esac
  for f in tests/fuzz/findings/*; do
    [ -f "$f" ] || continue
    case $(basename "$f") in
      fuzz_stamp-*) [ $b = fuzz_stamp ] && files+=("$f") ;;
      fuzz_dfuse-*) [ $b = fuzz_dfuse ] && files+=("$f") ;;
      *) [ $b = fuzz_dfu ] || [ $b = fuzz_dfu_opts ] && files+=("$f") ;;
    esac
  done
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

# 5: both tool fuzzers at once
for b in fuzz_stamp fuzz_dfuse; do
  mkdir -p "$work/c-$b" "$work/f-$b"
  cp tests/fuzz/corpus-${b#fuzz_}/* "$work/c-$b/"
  FUZZ_STATS="$work/$b.stats" "$dir/$b" -max_total_time="$tool_secs" -max_len=4096 \
    -artifact_prefix="$work/f-$b/" "$work/c-$b" >"$work/$b.log" 2>&1 &
done
wait
for b in fuzz_stamp fuzz_dfuse; do
  runs=$(grep -oE '^Done [0-9]+ runs' "$work/$b.log" | grep -oE '[0-9]+')
  stats=$(tail -1 "$work/$b.stats" 2>/dev/null)
  get() { echo "$stats" | sed -nE "s/.*\<$1 ([0-9]+).*/\1/p"; }
  if [ $b = fuzz_stamp ]; then need="sealed stamped restamp handlers refused verified boot_checked boots"
  else need="sealed read_ok read_multi stamp_checked round_trips too_big damage_refused"; fi
  missing=""
  for k in $need; do [ "$(get "$k")" -gt 0 ] 2>/dev/null || missing="$missing $k"; done
  finds=$(ls "$work/f-$b" | wc -l)
  echo "  $b: ${runs:-?} executions in $tool_secs s, $finds findings; $stats"
  for f in "$work/f-$b"/*; do
    [ -e "$f" ] || continue
    mkdir -p "$dir/short-findings" && cp "$f" "$dir/short-findings/$b-$(basename "$f")"
    echo "  finding (kept in $dir/short-findings/): $(grep -m1 -E 'INVARIANT VIOLATED|ERROR: AddressSanitizer|runtime error|deadly signal' "$work/$b.log")"
  done
  [ -n "$runs" ] && [ "$finds" -eq 0 ]
  verdict $? "$b: $tool_secs s of fuzzing, no finding"
  [ -z "$missing" ] && [ -n "$stats" ]
  verdict $? "$b: inputs reached the checked states (missing:${missing:- none})"
done

# 6
for b in fuzz_stamp fuzz_dfuse; do
  "$dir/${b}_break" tests/fuzz/corpus-${b#fuzz_}/* >"$work/$b-break.log" 2>&1
  rc=$?
  what=$(grep -m1 'INVARIANT VIOLATED' "$work/$b-break.log")
  [ $rc -ne 0 ] && [ -n "$what" ]
  verdict $? "${b}_break, whose harness damages what it checks, is reported (exit $rc: $what)"
done

echo "fuzz: $pass passed, $fail failed"
[ $fail -eq 0 ]
