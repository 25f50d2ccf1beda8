#!/bin/bash
# After post-pretrain.sh: the fine-tuned models as int8 compact copies, then the six FaceMAE rows
# of the CelebA-966 sweep with them, two steps at a time, in a hard-linked copy of the finished
# sweep (original and baselines stay cached: their steps do not depend on the reconstructor).
set -u
cd /work/main
L=docs/results/logs/mae-v2
while [ ! -f $L/post-pretrain.done ]; do sleep 15; done
for r in irm noirm; do
  d=assets/models/facemae-tiny-v2$([ $r = noirm ] && echo -noirm)
  node dist/cli/index.js export --model runs/mae-tiny-A2-$r --compact $d --int8 --overwrite >> $L/export.txt 2>&1
done
[ -d runs/celeba-966-v2 ] || cp -al runs/celeba-966 runs/celeba-966-v2
nice -n -15 node dist/cli/index.js sweep --config configs/celeba-966.json --out runs/celeba-966-v2 --jobs 2 \
  --set mae.pretrained=../assets/models/facemae-tiny-v2 --set ablation.pretrained=../assets/models/facemae-tiny-v2-noirm \
  > $L/sweep-v2.out 2> $L/sweep-v2.txt
date -u > $L/sweep-v2.done
