#!/bin/bash
# When the FaceMAE rows (sweep-utility-4b.sh) are done: pixelate 8's utility row in the same copy.
cd /work/main
while pgrep -f "sweep-utility-4b.sh" >/dev/null; do sleep 10; done
export FACEMAE_THREADS=1
node dist/cli/index.js sweep --config configs/celeba-966.json --out runs/celeba-966-b --set 'attackers=["mobileface"]' --set privacyImagesPerIdentity=4 \
  --set 'maskRatios=[0.9]' --set ablation=null --set 'baselines=[{"method":"pixelate","strength":8}]'
