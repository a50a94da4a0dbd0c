#!/usr/bin/env bash
# Runs test suites and adds up their closing "N passed, N failed" lines.
# Each argument is one suite: a command line (quoted). A suite that ends
# without such a line, or exits non-zero with 0 failures, counts one failure.
set -u
total_p=0; total_f=0; bad=()
log_dir=${SUITE_LOG_DIR:-build/test-logs}
mkdir -p "$log_dir"
for suite in "$@"; do
  # Named after the script or binary, not an interpreter in front of it.
  name=$(echo "$suite" | awk '{for (i = 1; i <= NF; i++) if ($i != "bash" && $i != "sh") { print $i; exit }}' | sed 's|.*/||')
  log="$log_dir/$name.log"
  echo "== $suite"
  start=$(date +%s)
  bash -c "$suite" 2>&1 | tee "$log" | grep -E '^(FAIL|not ok|ERROR)' | head -40
  rc=${PIPESTATUS[0]}
  line=$(grep -E '^([A-Za-z]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
  p=0; f=0
  if [ -n "$line" ]; then
    p=$(echo "$line" | sed -E 's/^([A-Za-z]+: )?([0-9]+) passed.*/\2/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
  fi
  if [ -z "$line" ] || { [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; }; then
    echo "   suite ended badly (exit $rc, no closing count); last lines:"; tail -15 "$log" | sed 's/^/   | /'
    f=$((f + 1))
  fi
  echo "   $p passed, $f failed ($(( $(date +%s) - start )) s, log $log)"
  total_p=$((total_p + p)); total_f=$((total_f + f))
  [ "$f" -eq 0 ] || bad+=("$name")
done
[ ${#bad[@]} -eq 0 ] || echo "failing suites: ${bad[*]}"
echo "$total_p passed, $total_f failed"
[ "$total_f" -eq 0 ]
