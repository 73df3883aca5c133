# Sourced by the bench scripts: one Markdown table row per timed command.
#
#   FLOOR=""                       # the first row timed sets it
#   row NAME CMD ARGS...           # REPS runs: median, min, max wall s, peak RSS, x the floor
#
# Each run is its own process, its output thrown away; BEFORE_EACH (a shell
# command, optional) runs before every rep, e.g. to clear an output folder.
row() {
  local name=$1; shift
  local walls=() rss=0 out r
  for _ in $(seq "$REPS"); do
    [ -n "${BEFORE_EACH:-}" ] && eval "$BEFORE_EACH"
    out=$( { /usr/bin/time -f "%e %M" "$@" >/dev/null; } 2>&1 | tail -1)
    walls+=("${out% *}")
    r=${out#* }; [ "$r" -gt "$rss" ] && rss=$r
  done
  local sorted=($(printf '%s\n' "${walls[@]}" | sort -n))
  local med=${sorted[$(( (REPS - 1) / 2 ))]}
  [ -z "$FLOOR" ] && FLOOR=$med
  local ratio
  ratio=$(awk -v a="$med" -v b="$FLOOR" 'BEGIN { printf "%.1f", a / b }')
  echo "| $name | $med | ${sorted[0]} | ${sorted[-1]} | $((rss / 1024)) | $ratio |"
}
