#!/usr/bin/env bash
# Prints, per layer of the engine (bottom to top), its folder, how many
# source files it has and their lines, and its largest file: the README's
# Layout table. Counts tracked C++/CUDA files only.
set -euo pipefail
cd "$(dirname "$0")/.."
printf '%-11s %-17s %6s %7s  %s\n' layer folder files lines largest
for entry in base:lib/base bootstrap:lib/bootstrap topology:topology plan:lib/plan \
             algorithms:lib/algorithms tune:lib/tune reduce:lib/reduce transports:transports \
             exec:lib/exec sim:lib/sim comm:lib/comm; do
  layer=${entry%%:*} dir=${entry#*:}
  mapfile -t files < <(git ls-files "$dir" | grep -E '\.(cc|hpp|h|cu|cuh)$')
  lines=$(cat "${files[@]}" | wc -l)
  largest=$(wc -l "${files[@]}" | grep -v ' total$' | sort -rn | head -n 1 | awk '{print $2" ("$1")"}')
  printf '%-11s %-17s %6d %7d  %s\n' "$layer" "$dir/" "${#files[@]}" "$lines" "$largest"
done
