#!/bin/bash
# After the third pre-training restart (runs/mae-tiny-A4) ends: its held-out MSE, then the
# fine-tunings from it, two at a time at one BLAS thread each (IRM λ=0.02 | λ=0 then IRM λ=0.05),
# then their held-out MSE. Logs next to this script.
set -u
cd /work/main
L=docs/results/logs/mae-v3
while pgrep -f "out runs/mae-tiny-A4 " >/dev/null; do sleep 15; done
A=runs/celeba-966-A/images
EV="npx tsx scripts/eval-mae-loss.ts"
LFW=../shared/data/lfw-aligned-112/images
nice -n -15 $EV runs/mae-tiny-A4 $LFW 500 0 > $L/heldout-A4.json 2>/dev/null
cp runs/mae-tiny-A4/log.jsonl $L/mae-tiny-A4.log.jsonl; cp runs/mae-tiny-A4/config.json $L/mae-tiny-A4.config.json
FT="--init runs/mae-tiny-A4 --data $A --batch-size 32 --lr 1e-4 --checkpoint-every 20 --seed 0 --steps 150"
TR="nice -n -15 node dist/cli/index.js train-mae $FT"
( FACEMAE_THREADS=1 $TR --irm-teacher faceplugin --irm-weight 0.02 --out runs/mae-tiny-A4-irm02 > /dev/null 2> $L/ft-A4-irm02.txt ) &
( FACEMAE_THREADS=1 $TR --out runs/mae-tiny-A4-noirm > /dev/null 2> $L/ft-A4-noirm.txt
  FACEMAE_THREADS=1 $TR --irm-teacher faceplugin --irm-weight 0.05 --out runs/mae-tiny-A4-irm05 > /dev/null 2> $L/ft-A4-irm05.txt ) &
wait
for r in irm02 irm05 noirm; do
  nice -n -15 $EV runs/mae-tiny-A4-$r $LFW 500 0 > $L/heldout-A4-$r.json 2>/dev/null
  cp runs/mae-tiny-A4-$r/log.jsonl $L/mae-tiny-A4-$r.log.jsonl; cp runs/mae-tiny-A4-$r/config.json $L/mae-tiny-A4-$r.config.json
done
date -u > $L/post-pretrain.done
