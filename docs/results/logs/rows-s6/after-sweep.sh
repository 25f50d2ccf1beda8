#!/bin/bash
# Session 6: after the FaceMAE rows are redone with the new default models (`facemae sweep --config
# configs/celeba-966.json --out runs/celeba-966 --jobs 2`), keep its report, then the
# single-attacker privacy at 4 images per identity (mobileface, 2,554 probes) in a hard-linked copy
# of the sweep folder, so that the main folder keeps its two-attacker privacy steps. Every step
# but the 15 privacy steps of the copy is reused from cache.
set -eu
cd /work/main
while pgrep -f "sweep --config configs/celeba-966.json --out runs/celeba-966 --jobs 2" >/dev/null; do sleep 15; done
mkdir -p runs/final-s6/full runs/final-s6/utility
cp runs/celeba-966/report/{evidence.json,results.md,index.html,grid.png} runs/final-s6/full/
rm -rf runs/celeba-966-u4 && cp -al runs/celeba-966 runs/celeba-966-u4
nice -n -15 node dist/cli/index.js sweep --config configs/celeba-966.json --out runs/celeba-966-u4 \
  --set 'attackers=["mobileface"]' --set privacyImagesPerIdentity=4 2> runs/logs/sweep-s6-u4.err
cp runs/celeba-966-u4/report/{evidence.json,results.md} runs/final-s6/utility/
date -u > runs/final-s6/DONE
