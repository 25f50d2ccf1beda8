cd /work/main
exec node dist/cli/index.js sweep --config configs/celeba-966.json --out runs/celeba-966 \
  --set 'attackers=["mobileface"]' --set 'maskRatios=[0.75,0.9]' --set ablation=null \
  --set 'baselines=[{"method":"blur","strength":8},{"method":"noise","strength":80}]'
