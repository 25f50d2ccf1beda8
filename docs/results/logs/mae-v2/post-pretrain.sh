#!/bin/bash
# After the MSE pre-training (runs/mae-tiny-A2) ends: a quiet bench window on the new engine, the
# held-out MSE of the pre-trained model, then both 150-step fine-tunings (IRM λ=0.1 and λ=0) side
# by side at one BLAS thread each, then their held-out MSE. Logs next to this script.
set -u
cd /work/main
L=docs/results/logs/mae-v2
while pgrep -f "out runs/mae-tiny-A2 " >/dev/null; do sleep 15; done
npm run build >/dev/null 2>&1
{
  date -u; uptime; lscpu | grep -E "Model name|Flags" | sed 's/^Flags:.*/&/'
  for b in "mae" "irm" "fr --backbone r-tiny --input-size 64 --steps 5" "fr --backbone r-tiny" "fr --backbone r18-half"; do
    echo "=== npm run bench -- $b"; npm run bench -- $b 2>&1 | grep -v "npm warn"
  done
  date -u
} > docs/results/logs/bench-2026-11-29-s5.txt 2>&1
A=runs/celeba-966-A/images
EV="npx tsx scripts/eval-mae-loss.ts"
LFW=../shared/data/lfw-aligned-112/images
$EV runs/mae-tiny-A2 $LFW 500 0 > $L/heldout-pretrain.json 2>/dev/null
cp runs/mae-tiny-A2/log.jsonl $L/mae-tiny-A2.log.jsonl; cp runs/mae-tiny-A2/config.json $L/mae-tiny-A2.config.json
FT="--init runs/mae-tiny-A2 --data $A --batch-size 32 --lr 1e-4 --checkpoint-every 20 --seed 0 --steps 150"
FACEMAE_THREADS=1 nice -n -15 node dist/cli/index.js train-mae $FT --irm-teacher faceplugin --irm-weight 0.1 --out runs/mae-tiny-A2-irm > $L/ft-irm.out 2> $L/ft-irm.txt &
FACEMAE_THREADS=1 nice -n -15 node dist/cli/index.js train-mae $FT --out runs/mae-tiny-A2-noirm > $L/ft-noirm.out 2> $L/ft-noirm.txt &
wait
for r in irm noirm; do
  $EV runs/mae-tiny-A2-$r $LFW 500 0 > $L/heldout-$r.json 2>/dev/null
  cp runs/mae-tiny-A2-$r/log.jsonl $L/mae-tiny-A2-$r.log.jsonl; cp runs/mae-tiny-A2-$r/config.json $L/mae-tiny-A2-$r.config.json
done
date -u > $L/post-pretrain.done
