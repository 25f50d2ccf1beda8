#!/bin/bash
# After pixelate 8 (after-b.sh) and the two-attacker privacy pass (after-a.sh): merge, then the
# two result files from cached steps only.
set -e
cd /work/main
while pgrep -f "after-[ab].sh" >/dev/null; do sleep 10; done
runs/merge-b.sh
S="npx tsx src/cli/index.ts sweep --config configs/celeba-966.json --out runs/celeba-966"
$S --set 'attackers=["mobileface"]' --set privacyImagesPerIdentity=4
mkdir -p runs/final/utility && cp runs/celeba-966/report/{evidence.json,results.md,index.html} runs/final/utility/
SRC=runs/celeba-966-c ONLY=privacy runs/merge-b.sh
$S --set privacyImagesPerIdentity=1
mkdir -p runs/final/full && cp runs/celeba-966/report/{evidence.json,results.md,index.html,grid.png} runs/final/full/
echo FINAL-DONE
