#!/usr/bin/env bash
# run.sh SECONDS - the long fuzzing run behind `make fuzz` and `make fuzz-long`.
#
# Every target in FUZZ_TARGETS (default: the two core builds, i.e. the
# build configuration families fuzz_dfu (defaults) and fuzz_dfu_opts
# (UPLOAD=0 UNPROTECT=1 WEBUSB=0 STRICT=1), then the tool fuzzers
# fuzz_stamp and fuzz_dfuse) fuzzes at the same time for SECONDS of wall
# time. FUZZ_JOBS worker processes (default: nproc) are shared out, the
# core builds first; every target gets at least one. Everything runs at
# nice FUZZ_NICE (default 19), so it can run beside other work.
#
# libFuzzer's fork mode with -ignore_crashes (and timeouts, OOMs) keeps
# going after a finding, so one bug does not end the run. Working corpora
# grow in build/host/fuzz/corpus-<target>/ (seeded from the committed
# corpus) and carry over to the next run. Findings of this run land in
# build/host/fuzz/findings-<target>/ and are copied to
# tests/fuzz/findings/<target>-<name>, which short.sh (make test) replays:
# commit them with the fix.
#
# Output: a progress line every FUZZ_PROGRESS seconds (default 300), then
# per target
#   <target>: N executions, N exec/s, cov N, ft N, corpus N, findings N
#     reached: <counter> N, ...
#     finding tests/fuzz/findings/<target>-crash-...: <first error line>
# and last the summary line (exit status 1 if there was any finding):
#   fuzz: N executions in S s, T targets, J jobs, N findings
set -u
secs=${1:-3600}
dir=build/host/fuzz
read -r -a targets <<<"${FUZZ_TARGETS:-fuzz_dfu fuzz_dfu_opts fuzz_stamp fuzz_dfuse}"
jobs=${FUZZ_JOBS:-$(nproc)}
niceness=${FUZZ_NICE:-19}
progress=${FUZZ_PROGRESS:-300}

seeds() {
  case $1 in
    fuzz_dfuse*) echo tests/fuzz/corpus-dfuse ;;
    fuzz_stamp*) echo tests/fuzz/corpus-stamp ;;
    fuzz_dfu*) echo tests/fuzz/corpus ;;
    *) echo "run.sh: unknown target $1" >&2; exit 2 ;;
  esac
}

# Share the jobs out: the first targets (the core builds) get the rest.
n=${#targets[@]}
declare -A forks
for i in "${!targets[@]}"; do
  k=$(( jobs / n + (i < jobs % n ? 1 : 0) ))
  forks[${targets[$i]}]=$(( k > 0 ? k : 1 ))
done

# The status line of fork mode:
#   #N: cov: C ft: F corp: K exec/s E oom/timeout/crash: a/b/c time: Ts job: J dft_time: D
status() { grep -aE '^#[0-9]+: cov:' "$dir/$1.log" | tail -1; }
field() { echo "$2" | sed -nE "s/.* $1:? ([0-9]+).*/\\1/p"; }
runs() { echo "$1" | sed -nE 's/^#([0-9]+):.*/\1/p'; }

start=$(date +%s)
pids=()
for t in "${targets[@]}"; do
  [ -x "$dir/$t" ] || { echo "run.sh: $dir/$t missing (make fuzz-bins)" >&2; exit 2; }
  mkdir -p "$dir/corpus-$t"
  cp -n "$(seeds "$t")"/* "$dir/corpus-$t/"
  rm -rf "$dir/findings-$t" "$dir/$t.stats"
  mkdir -p "$dir/findings-$t"
  FUZZ_STATS="$dir/$t.stats" nice -n "$niceness" "$dir/$t" -fork="${forks[$t]}" \
    -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 -timeout=60 -max_total_time="$secs" \
    -max_len=4096 -artifact_prefix="$dir/findings-$t/" "$dir/corpus-$t" >"$dir/$t.log" 2>&1 &
  pids+=($!)
done
echo "fuzz: ${targets[*]} for $secs s at nice $niceness; workers:$(for t in "${targets[@]}"; do printf ' %s %s' "$t" "${forks[$t]}"; done) (logs $dir/<target>.log)"

running() { for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
last=$start
while running; do
  sleep 5
  now=$(date +%s)
  if [ $((now - last)) -ge "$progress" ]; then
    last=$now
    line=""
    for t in "${targets[@]}"; do
      s=$(status "$t")
      line="$line $t $(runs "$s") runs, cov $(field cov "$s"), findings $(ls "$dir/findings-$t" | wc -l);"
    done
    echo "fuzz: $((now - start)) s of $secs:$line"
  fi
done
wait
elapsed=$(( $(date +%s) - start ))

total_exec=0; total_find=0
mkdir -p tests/fuzz/findings
for t in "${targets[@]}"; do
  s=$(status "$t")
  execs=$(runs "$s"); execs=${execs:-0}
  cov=$(field cov "$s"); ft=$(field ft "$s")
  corp=$(ls "$dir/corpus-$t" | wc -l)
  finds=$(ls "$dir/findings-$t" | wc -l)
  echo "$t: $execs executions, $(( execs / (elapsed > 0 ? elapsed : 1) )) exec/s, cov ${cov:-?}, ft ${ft:-?}, corpus $corp, findings $finds"
  # What the inputs reached, summed over the fork-mode jobs' counters.
  reach=$(awk '{for (i = 1; i < NF; i += 2) { if (!($i in s)) o[n++] = $i; s[$i] += $(i + 1) }}
               END {for (i = 0; i < n; i++) printf "%s%s %d", i ? ", " : "", o[i], s[o[i]]}' \
          "$dir/$t.stats" 2>/dev/null)
  echo "  reached: ${reach:-no counters}"
  for f in "$dir/findings-$t"/*; do
    [ -e "$f" ] || continue
    keep="tests/fuzz/findings/$t-$(basename "$f")"
    cp "$f" "$keep"
    what=$(timeout 120 "$dir/$t" "$f" 2>&1 | grep -a -m1 -E 'INVARIANT VIOLATED|ERROR: AddressSanitizer|runtime error|ERROR: libFuzzer' || true)
    echo "  finding $keep: ${what:-does not reproduce alone}"
  done
  total_exec=$((total_exec + execs)); total_find=$((total_find + finds))
done
echo "fuzz: $total_exec executions in $elapsed s, $n targets, $jobs jobs, $total_find findings"
[ "$total_find" -eq 0 ]
