/**
 * Redis memory per queued shard job (BullMQ's hash + its place in the wait list), for a .rec range
 * shard and for a folder shard listing `--files` paths. Needs a redis-server with nothing else in it:
 *
 *   redis-server --port 6399 --save '' --appendonly no --daemonize yes
 *   npx tsx bench/queue-memory.ts redis://127.0.0.1:6399
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { ShardJobData } from '../src/queue/shards.js';

const url = process.argv[2] ?? 'redis://127.0.0.1:6399';
const redis = new Redis(url, { maxRetriesPerRequest: null });
const used = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
const task = {
  kind: 'reconstruct' as const,
  model: '/shared/runs/facemae-vit-base/run-2026-11-20',
  data: '/shared/data/webface260m/part-0001.rec',
  seed: 0,
  batchSize: 64,
  quality: 95,
};
async function measure(
  name: string,
  n: number,
  select: (i: number) => ShardJobData['shard']['select'],
  images: number,
) {
  const q = new Queue<ShardJobData>(`mem-${name}`, { connection: redis });
  const before = await used();
  for (let i = 0; i < n; i += 1000) {
    await q.addBulk(
      Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({
        name: 'reconstruct',
        data: {
          runId: '3f1c2a9e-6a1b-4c55-9d8e-0123456789ab',
          out: '/shared/out/webface260m-mae',
          task,
          shard: { index: i + j, images, select: select(i + j) },
        },
        opts: { jobId: `3f1c2a9e-6a1b-4c55-9d8e-0123456789ab-${i + j}`, attempts: 3, removeOnComplete: true },
      })),
    );
  }
  const per = ((await used()) - before) / n;
  console.log(`${name}: ${n} jobs, ${per.toFixed(0)} bytes of Redis memory per queued job`);
  await q.obliterate({ force: true });
  await q.close();
}
await measure('rec-range', 20_000, (i) => ({ start: i * 10_000, end: (i + 1) * 10_000 }), 10_000);
await measure(
  'folder-1000-files',
  2_000,
  (i) => ({
    files: Array.from(
      { length: 1000 },
      (_, j) => `id_${String(i * 20 + Math.floor(j / 50)).padStart(7, '0')}/${j % 50}.jpg`,
    ),
  }),
  1000,
);
redis.disconnect();
