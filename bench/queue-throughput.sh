#!/usr/bin/env bash
# Images/s of `reconstruct --queue` with W local workers (each: one process, one shard at a time),
# on a temporary redis-server. Worker start-up is excluded (they are ready before the producer).
#   bash bench/queue-throughput.sh W DATA MODEL [SHARD_SIZE] [BATCH]
#   e.g. bash bench/queue-throughput.sh 2 ../shared/data/lfw-aligned-112 assets/models/facemae-tiny 500 32
set -euo pipefail
W=${1:?workers}; DATA=${2:?data}; MODEL=${3:?model}; SHARD=${4:-500}; BATCH=${5:-32}
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); port=$(( 20000 + RANDOM % 20000 ))
redis-server --port "$port" --bind 127.0.0.1 --dir "$tmp" --save '' --appendonly no --daemonize yes --pidfile "$tmp/redis.pid" >/dev/null
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; kill "$(cat "$tmp/redis.pid")" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
sleep 0.5
for i in $(seq "$W"); do
  node bin/facemae.js worker --queue "redis://127.0.0.1:$port" --out-root "$tmp" --data-root "$DATA" \
    --model-root "$MODEL" 2>"$tmp/w$i.log" & pids+=($!)
done
for i in $(seq "$W"); do until grep -q 'waiting for shards' "$tmp/w$i.log" 2>/dev/null; do sleep 0.2; done; done
t0=$(date +%s.%N)
node bin/facemae.js --quiet --json reconstruct --model "$MODEL" --data "$DATA" --out "$tmp/out" \
  --queue "redis://127.0.0.1:$port" --shard-size "$SHARD" --batch-size "$BATCH" > "$tmp/result.json"
t1=$(date +%s.%N)
n=$(node -e "console.log(JSON.parse(require('fs').readFileSync('$tmp/result.json','utf8')).images)")
node -e "const s=$t1-$t0; console.log(\`workers=$W images=$n seconds=\${s.toFixed(1)} img/s=\${($n/s).toFixed(1)} (\${require('os').cpus()[0].model})\`)"
