#!/usr/bin/env bash
# One run, one machine: torch.distributed through the colossus backend beside
# gloo, at each process count, repeated R times with the backends alternating
# (colossus first on odd repeats, gloo first on even ones) so that machine
# noise falls on both. Each repeat runs, under torchrun, for each backend:
#   bench/c10d/allreduce_bench.py  all_reduce fp32 sum, 8 B latency and 64 MiB
#                                  busbw (and, SWEEP=1, 8 B to 64 MiB by 4x
#                                  for the plot); median of 5 timed windows
#   bench/c10d/ddp_bench.py        DDP step of 4 x Linear(2048, 2048), batch 8
#                                  (64 MiB of gradients); median of 5 windows
# then prints, per process count, the medians over the repeats, the ratios
# (8 B time gloo/colossus, 64 MiB busbw colossus/gloo, DDP step gloo/colossus)
# against the goals (>= 10x, >= 2x, >= 1.5x), and draws every run's busbw
# against size with colossus-plot into one PNG.
#
# Where `import colossus.torch` fails (the backend is not built yet), it says
# so and runs gloo only.
#
# Usage: bench/scripts/c10d_vs_gloo.sh [repeats] [process counts...]   (default 3, "2 4")
#   COLOSSUS_PY    the built package's folder (default <repo>/build/python if
#                  it exists, else <repo>/python, the sources: gloo only)
#   COLOSSUS_VENV  the venv with torch (default ~/.cache/colossus/venv)
#   OUT            folder for the logs, CSV/JSON and PNG (default a new /tmp folder, kept)
#   PNG            the chart (default $OUT/c10d_vs_gloo.png)
#   SWEEP=0        8 B and 64 MiB only;  WINDOWS=N  timed windows per figure (default 5)
#   BACKENDS       default "colossus gloo";  DEVICE=cuda  tensors and model on the GPU (default cpu)
set -euo pipefail
reps=${1:-3}; shift || true
procs=${*:-"2 4"}
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=${COLOSSUS_VENV:-$HOME/.cache/colossus/venv}
py="$venv/bin/python"
if [ -z "${COLOSSUS_PY:-}" ]; then
  COLOSSUS_PY="$root/python"; [ -d "$root/build/python" ] && COLOSSUS_PY="$root/build/python"
fi
export PYTHONPATH="$COLOSSUS_PY${PYTHONPATH:+:$PYTHONPATH}"
cores=$(nproc)                    # before OMP_NUM_THREADS, which nproc obeys
export OMP_NUM_THREADS=1          # 2-core machines: one compute thread per rank
out=${OUT:-$(mktemp -d /tmp/c10d_vs_gloo.XXXXXX)}; mkdir -p "$out"
png=${PNG:-$out/c10d_vs_gloo.png}
windows=${WINDOWS:-5}
sweep=(); [ "${SWEEP:-1}" = 1 ] && sweep=(--sweep -b 8 -e 64M -f 4)
backends=${BACKENDS:-"colossus gloo"}

if [[ " $backends " == *" colossus "* ]]; then
  check='import colossus.torch, torch.distributed as d
assert "colossus" in d.Backend.backend_list, "colossus.torch (%s) registered no backend" % colossus.torch.__file__'
  if ! why=$("$py" -c "$check" 2>&1); then
    echo "# the colossus backend is not available from $COLOSSUS_PY: running gloo only"
    echo "#   ($(printf '%s\n' "$why" | tail -n 1))"
    backends=${backends//colossus/}
  fi
fi
echo "# c10d_vs_gloo: backends: $backends; processes: $procs; $reps repeats; $windows windows each"
echo "# torch $("$py" -c 'import torch; print(torch.__version__)'); $cores cores; results in $out"

run() {  # run NAME N BACKEND SCRIPT ARGS...: one torchrun; log in $out/NAME.log
  local name=$1 n=$2 backend=$3 script=$4; shift 4
  if ! "$py" -m torch.distributed.run --standalone --nproc-per-node "$n" \
      "$root/bench/c10d/$script" --backend "$backend" --device "${DEVICE:-cpu}" --reps "$windows" \
      --csv "$out/$name.csv" --json "$out/$name.json" "$@" > "$out/$name.log" 2>&1; then
    echo "# FAILED: $backend, $n processes, $script (last lines of $out/$name.log):" >&2
    tail -n 5 "$out/$name.log" >&2
    rm -f "$out/$name.csv"
  fi
}

for n in $procs; do
  for r in $(seq "$reps"); do
    order=$backends
    [ $((r % 2)) = 0 ] && order=$(echo "$backends" | tr ' ' '\n' | tac | tr '\n' ' ')
    for b in $order; do
      run "ar.$b.$n.$r" "$n" "$b" allreduce_bench.py --sizes 8,64M "${sweep[@]}"
      run "ddp.$b.$n.$r" "$n" "$b" ddp_bench.py
    done
  done
done

# Medians over the repeats, by column name; one table per process count.
summary() {
  awk -F, -v n="$1" -v reps="$reps" '
    function median(list,   a, m, i, j, t) {
      m = split(list, a, " "); if (m == 0) return ""
      for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
      return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
    }
    FNR == 1 { delete col; for (i = 1; i <= NF; i++) col[$i] = i; next }
    $col["nranks"] != n { next }
    { b = $col["backend"] }
    col["bench"] && $col["bench"] == "allreduce" && $col["size"] == 8 { lat[b] = lat[b] " " $col["time_us"] }
    col["bench"] && $col["bench"] == "allreduce" && $col["size"] == 67108864 { bw[b] = bw[b] " " $col["busbw"] }
    col["bench"] && $col["bench"] == "ddp" { ddp[b] = ddp[b] " " $col["step_ms"] }
    function line(what, c, g, inverse, goal,   r, met) {
      r = ""; met = "n/a"
      if (c != "" && g != "" && c > 0 && g > 0) { r = inverse ? g / c : c / g; met = (r >= goal) ? "yes" : "NO"; r = sprintf("%.2fx", r) }
      printf "| %s | %s | %s | %s | >= %gx | %s |\n", what, (c == "" ? "-" : c), (g == "" ? "-" : g), (r == "" ? "-" : r), goal, met
    }
    END {
      printf "\n## %d processes: medians of %d repeats\n\n", n, reps
      print "| what | colossus | gloo | ratio | goal | met |"
      print "| --- | --- | --- | --- | --- | --- |"
      line("all_reduce 8 B, time (us); ratio gloo/colossus", median(lat["colossus"]), median(lat["gloo"]), 1, 10)
      line("all_reduce 64 MiB, busbw (GB/s); ratio colossus/gloo", median(bw["colossus"]), median(bw["gloo"]), 0, 2)
      line("DDP step, 4 x 2048x2048 (ms); ratio gloo/colossus", median(ddp["colossus"]), median(ddp["gloo"]), 1, 1.5)
    }' "$out"/*.csv
}
shopt -s nullglob
for n in $procs; do summary "$n"; done

# The chart: each backend and process count's repeats in one file, whose
# repeated sizes colossus-plot reduces to their median.
plot_args=()
for n in $procs; do
  for b in $backends; do
    files=("$out"/ar."$b"."$n".*.csv)
    [ ${#files[@]} -gt 0 ] || continue
    awk 'FNR == 1 && NR != 1 { next } 1' "${files[@]}" > "$out/sweep.$b.$n.csv"
    plot_args+=(--label "$b, $n processes" "$out/sweep.$b.$n.csv")
  done
done
plotpath=$PYTHONPATH
"$py" -c 'import colossus.plot' 2>/dev/null || plotpath="$root/python"  # a build without plot.py
echo
if [ ${#plot_args[@]} -gt 0 ]; then
  PYTHONPATH=$plotpath "$py" -m colossus.plot -o "$png" --metric busbw \
    --title "c10d all_reduce fp32 sum, busbw: $(echo $backends | sed 's/ / vs /g') ($cores cores)" \
    "${plot_args[@]}"
else
  echo "# no all_reduce results to plot"
fi
