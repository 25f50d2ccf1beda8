#!/bin/bash
# Utility, the FaceMAE rows left (λ = 0 at 0.75/0.9, then 0.5 with and without IRM), in a
# hard-linked copy of the sweep folder so it runs beside sweep-utility-4.sh; merged back after.
set -e
cd /work/main
export FACEMAE_THREADS=${FACEMAE_THREADS:-1}
S="node dist/cli/index.js sweep --config configs/celeba-966.json --out runs/celeba-966-b --set attackers=[\"mobileface\"] --set baselines=[]"
$S --set 'maskRatios=[0.9]' --set 'ablation.maskRatios=[0.75,0.9]'
$S --set 'maskRatios=[0.5]' --set 'ablation.maskRatios=[0.5]'
