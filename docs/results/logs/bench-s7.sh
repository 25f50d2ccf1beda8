#!/usr/bin/env bash
# The issue-11 benches in a row, each as ours/PyTorch rounds; $1 = log file. Extra env passes through.
set -u
log=$1
{
  date -u; uptime; lscpu | grep -E "Model name|^CPU\(s\)|Flags"; git log --oneline -1
  env | grep -E "OPENBLAS_CORETYPE|ATEN_CPU_CAPABILITY|DNNL_MAX_CPU_ISA" || true
  for args in "mae --rounds 3" "irm --rounds 3" "fr --backbone r18-half --rounds 3" "fr --backbone r-tiny --rounds 3 --steps 5" "fr --backbone r-tiny --input-size 64 --rounds 3 --steps 10 --warmup 3"; do
    echo "=== npm run bench -- $args"; date -u +%H:%M:%S
    npx tsx bench/run.ts $args 2>&1 | grep -v "npm warn"
  done
  echo "=== npm run bench -- fr --backbone r18"; date -u +%H:%M:%S
  npx tsx bench/run.ts fr --backbone r18 2>&1 | grep -v "npm warn"
  date -u
} > "$log" 2>&1
