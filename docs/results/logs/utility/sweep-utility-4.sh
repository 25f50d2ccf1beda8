#!/bin/bash
# Utility, the remaining baseline rows in the order that decides most first (resumable).
# FACEMAE_THREADS=1: single-threaded BLAS trains r-tiny at 64 px faster than two threads here,
# and leaves the second core to the FaceMAE rows' sweep (sweep-utility-4b.sh).
set -e
cd /work/main
export FACEMAE_THREADS=${FACEMAE_THREADS:-1}
S="node dist/cli/index.js sweep --config configs/celeba-966.json --out runs/celeba-966 --set attackers=[\"mobileface\"] --set ablation=null"
$S --set 'maskRatios=[0.9]' \
  --set 'baselines=[{"method":"pixelate","strength":16},{"method":"mask","strength":0.9},{"method":"mask","strength":0.75},{"method":"noise","strength":40},{"method":"blur","strength":4},{"method":"pixelate","strength":8}]'
