#!/bin/bash
# Utility pass 1, second order: the baselines at least as private as FaceMAE 0.75 first (blur 8,
# noise 80, mask 0.75), so the decisive comparison lands first. Steps already done are reused.
cd /work/main
exec node dist/cli/index.js sweep --config configs/celeba-966.json --out runs/celeba-966 \
  --set 'attackers=["mobileface"]' --set 'maskRatios=[0.75]' --set ablation=null \
  --set 'baselines=[{"method":"blur","strength":8},{"method":"noise","strength":80},{"method":"mask","strength":0.75}]'
