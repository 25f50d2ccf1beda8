#!/bin/bash
# Second round of fine-tunings from runs/mae-tiny-A4 at a lower rate (3e-5, the range where the
# pre-training ended) so the fine-tuning itself moves the model less: IRM λ=0.05 | λ=0 then IRM
# λ=0.1, two at a time at one BLAS thread each; then their held-out MSE. Logs next to this script.
set -u
cd /work/main
L=docs/results/logs/mae-v3
while pgrep -f "eval-mae-loss.ts runs/mae-tiny-A4" >/dev/null; do sleep 5; done
A=runs/celeba-966-A/images
EV="npx tsx scripts/eval-mae-loss.ts"
LFW=../shared/data/lfw-aligned-112/images
FT="--init runs/mae-tiny-A4 --data $A --batch-size 32 --lr 3e-5 --set minLr=3e-6 --checkpoint-every 20 --seed 0 --steps 150"
TR="nice -n -15 node dist/cli/index.js train-mae $FT"
( FACEMAE_THREADS=1 $TR --irm-teacher faceplugin --irm-weight 0.05 --out runs/mae-tiny-A4-irm05-lo > /dev/null 2> $L/ft-A4-irm05-lo.txt ) &
( FACEMAE_THREADS=1 $TR --out runs/mae-tiny-A4-noirm-lo > /dev/null 2> $L/ft-A4-noirm-lo.txt
  FACEMAE_THREADS=1 $TR --irm-teacher faceplugin --irm-weight 0.1 --out runs/mae-tiny-A4-irm10-lo > /dev/null 2> $L/ft-A4-irm10-lo.txt ) &
wait
for r in irm05-lo irm10-lo noirm-lo; do
  nice -n -15 $EV runs/mae-tiny-A4-$r $LFW 500 0 > $L/heldout-A4-$r.json 2>/dev/null
  cp runs/mae-tiny-A4-$r/log.jsonl $L/mae-tiny-A4-$r.log.jsonl; cp runs/mae-tiny-A4-$r/config.json $L/mae-tiny-A4-$r.config.json
done
date -u > $L/post-pretrain-2.done
# Then (run by hand after the above): λ = 0.02 at the same low rate, alone on both cores.
# nice -n -15 node dist/cli/index.js train-mae $FT --irm-teacher faceplugin --irm-weight 0.02 --out runs/mae-tiny-A4-irm02-lo 2> $L/ft-A4-irm02-lo.txt
