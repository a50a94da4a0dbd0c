#!/usr/bin/env bash
# run.sh SECONDS - the long fuzzing run behind `make fuzz`.
#
# Both option sets (fuzz_dfu: defaults; fuzz_dfu_opts: UPLOAD=0
# UNPROTECT=1 WEBUSB=0 STRICT=1) fuzz in parallel, one core each, for
# SECONDS. libFuzzer's fork mode with -ignore_crashes keeps going after a
# finding, so one bug does not end the run; every finding is a file in
# build/host/fuzz/findings-<binary>/. Working corpora grow in
# build/host/fuzz/corpus-<binary>/ (seeded from tests/fuzz/corpus/) and
# carry over to the next run. The last line is the summary, e.g.
#   fuzz: 1234567 executions in 600 s, 0 findings
set -u
secs=${1:-600}
dir=build/host/fuzz
bins=(fuzz_dfu fuzz_dfu_opts)
start=$(date +%s)
for b in "${bins[@]}"; do
  mkdir -p "$dir/corpus-$b" "$dir/findings-$b"
  cp -n tests/fuzz/corpus/* "$dir/corpus-$b/"
  rm -f "$dir/$b.stats"
  FUZZ_STATS="$dir/$b.stats" "$dir/$b" -fork=1 -ignore_crashes=1 -max_total_time="$secs" \
    -max_len=4096 -artifact_prefix="$dir/findings-$b/" "$dir/corpus-$b" >"$dir/$b.log" 2>&1 &
done
echo "fuzz: ${bins[*]} for $secs s each (logs $dir/<binary>.log)"
wait
elapsed=$(( $(date +%s) - start ))

total_exec=0; total_find=0
for b in "${bins[@]}"; do
  # fork mode status line: #N: cov: C ft: F corp: K exec/s E oom/timeout/crash: a/b/c time: Ts
  line=$(grep -E '^#[0-9]+: cov:' "$dir/$b.log" | tail -1)
  execs=$(echo "$line" | sed -E 's/^#([0-9]+):.*/\1/'); execs=${execs:-0}
  cov=$(echo "$line" | sed -E 's/.* cov: ([0-9]+).*/\1/')
  ft=$(echo "$line" | sed -E 's/.* ft: ([0-9]+).*/\1/')
  corp=$(ls "$dir/corpus-$b" | wc -l)
  finds=$(ls "$dir/findings-$b" | wc -l)
  # How many inputs reached the deep states (summed over fork-mode jobs).
  reach=$(awk '{for (i = 1; i < NF; i += 2) s[$i] += $(i + 1)}
               END {printf "inputs %d, dnload-idle %d, erase %d, program %d, mass erase %d, blocks verified %d, upload %d, leave %d",
                    s["inputs"], s["dnload_idle"], s["erase"], s["program"], s["mass_erase"], s["verified"], s["upload"], s["leave"]}' \
          "$dir/$b.stats" 2>/dev/null)
  echo "$b: $execs executions, corpus $corp inputs, coverage $cov edges / $ft features, $finds findings"
  echo "  reached: $reach"
  for f in "$dir/findings-$b"/*; do
    [ -e "$f" ] || continue
    what=$("$dir/$b" "$f" 2>&1 | grep -m1 -E 'INVARIANT VIOLATED|ERROR: AddressSanitizer|runtime error|ERROR: libFuzzer' || true)
    echo "  finding $f: $what"
  done
  total_exec=$((total_exec + execs)); total_find=$((total_find + finds))
done
echo "fuzz: $total_exec executions in $elapsed s, $total_find findings"
[ "$total_find" -eq 0 ]
