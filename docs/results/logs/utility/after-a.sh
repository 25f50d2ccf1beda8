#!/bin/bash
# When blur 4's row is done: stop sweep-utility-4.sh (pixelate 8 runs in the copy), merge the
# copy's finished FaceMAE rows, and run the two-attacker privacy pass (1 image per identity) in a
# third hard-linked copy.
cd /work/main
while [ ! -e runs/celeba-966/steps/verify-blur-4.done.json ]; do sleep 10; done
sleep 5
pkill -f "sweep-utility-4.sh"; pkill -f "out runs/celeba-966 --set"; sleep 3
runs/merge-b.sh
rm -rf runs/celeba-966-c; cp -al runs/celeba-966 runs/celeba-966-c
rm -rf runs/celeba-966-c/steps/fr-pixelate-8* 
FACEMAE_THREADS=1 node dist/cli/index.js sweep --config configs/celeba-966.json --out runs/celeba-966-c --set utility=false --set privacyImagesPerIdentity=1
