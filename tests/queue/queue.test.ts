/**
 * The job queue on localhost: a redis-server of the test's own (temp dir, free port), three
 * workers (one a separate process, SIGKILLed mid-shard), a corrupt image, a second producer,
 * and a queue URL where nothing listens. Skips when redis-server is not installed (.ci/run
 * installs it).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/engine/backend.js';
import { reconstructDataset } from '../../src/protect/reconstruct-dataset.js';
import { runQueued } from '../../src/queue/producer.js';
import { startShardWorker, type ShardWorker } from '../../src/queue/worker.js';
import { shardManifestName } from '../../src/queue/shards.js';

const root = path.resolve(import.meta.dirname, '../..');
const model = path.join(root, 'assets/models/facemae-tiny');
const sample = path.join(root, 'assets/sample/deploy');
const hasRedis = spawnSync('redis-server', ['--version']).status === 0;
if (!hasRedis)
  console.warn('tests/queue: redis-server is not installed (apt-get install redis-server): skipped');

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const waitFor = async (cond: () => boolean, what: string, ms = 60_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
};

describe.skipIf(!hasRedis)('queued reconstruct (needs redis-server)', () => {
  let tmp = '';
  let redis: ChildProcess | undefined;
  let url = '';
  let data = '';

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-queue-'));
    const port = await freePort();
    url = `redis://127.0.0.1:${port}`;
    redis = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', tmp, '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    // two identities of the shipped sample plus one corrupt JPEG (a truncated real one)
    data = path.join(tmp, 'data');
    for (const id of ['Anna_Kournikova', 'Ben_Affleck'])
      fs.cpSync(path.join(sample, id), path.join(data, id), { recursive: true });
    const good = fs.readFileSync(path.join(sample, 'Ben_Affleck', 'Ben_Affleck_0002.jpg'));
    fs.mkdirSync(path.join(data, 'Zz_Broken'));
    fs.writeFileSync(path.join(data, 'Zz_Broken', 'broken.jpg'), good.subarray(0, 300));
    await initEngine();
    await waitFor(
      () =>
        spawnSync('redis-cli', ['-p', String(port), 'ping'])
          .stdout?.toString()
          .includes('PONG'),
      'redis',
    );
  }, 90_000);

  const roots = () => ({ out: [tmp], data: [tmp], model: [model] });

  afterAll(() => {
    redis?.kill('SIGTERM');
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('gives the single-process images with a worker killed mid-shard, lists the corrupt image, refuses a second producer', async () => {
    const ref = path.join(tmp, 'ref');
    const single = await reconstructDataset({ model, data, out: ref, batchSize: 1, onImageError: 'skip' });
    expect(single.errors.map((e) => path.basename(e.source))).toEqual(['broken.jpg']);

    // Worker A: its own process, paced so it is mid-shard when killed.
    const a = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(root, 'src/cli/index.ts'),
        'worker',
        '--queue',
        url,
        '--stall-timeout',
        '2',
        '--out-root',
        tmp,
        '--data-root',
        tmp,
        '--model-root',
        model,
        '--pace-ms',
        '3000',
      ],
      { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let aLog = '';
    a.stderr!.on('data', (b: Buffer) => (aLog += b.toString()));
    const workers: ShardWorker[] = [];
    try {
      await waitFor(() => aLog.includes('waiting for shards'), 'worker A');
      const out = path.join(tmp, 'queued');
      const run = runQueued({
        url,
        out,
        shardSize: 3,
        task: { kind: 'reconstruct', model, data, seed: 0, batchSize: 1, quality: 95 },
        pollSec: 0.2,
      });
      run.catch(() => {});
      // A takes shard 0 (the only worker); kill it once one image of it is on disk.
      const m0 = path.join(out, shardManifestName(0));
      await waitFor(
        () => fs.existsSync(m0) && fs.readFileSync(m0, 'utf8').split('\n').length === 2,
        'shard 0 half done',
      );
      a.kill('SIGKILL');
      expect(aLog).not.toMatch(/shard 0 .*done/);
      await expect(
        runQueued({
          url,
          out,
          shardSize: 3,
          resume: true,
          task: { kind: 'reconstruct', model, data, seed: 0, batchSize: 1, quality: 95 },
        }),
      ).rejects.toThrow(/another producer is running on/);
      for (let i = 0; i < 2; i++)
        workers.push(await startShardWorker({ url, stallTimeoutSec: 6, roots: roots() }));
      const r = await run;

      expect(r.images).toBe(9);
      expect(r.written).toBe(8);
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0]!.message).toMatch(/broken\.jpg/);
      expect(fs.readFileSync(path.join(out, 'errors.jsonl'), 'utf8')).toMatch(/broken\.jpg/);
      // image for image the same bytes, and the same manifest (no line twice, none lost)
      const files = fs
        .readdirSync(path.join(ref, 'images'), { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile());
      expect(files).toHaveLength(8);
      for (const f of files) {
        const rel = path.relative(path.join(ref, 'images'), path.join(f.parentPath, f.name));
        expect(
          fs
            .readFileSync(path.join(out, 'images', rel))
            .equals(fs.readFileSync(path.join(ref, 'images', rel))),
        ).toBe(true);
      }
      expect(fs.readFileSync(path.join(out, 'manifest.jsonl'), 'utf8')).toBe(
        fs.readFileSync(single.manifest, 'utf8'),
      );
    } finally {
      a.kill('SIGKILL');
      await Promise.all(workers.map((w) => w.close()));
    }
  }, 120_000);

  it('fails fast with the URL when Redis does not answer', async () => {
    const dead = `redis://127.0.0.1:${await freePort()}`;
    const t0 = Date.now();
    await expect(
      runQueued({
        url: dead,
        out: path.join(tmp, 'never'),
        shardSize: 2,
        task: { kind: 'reconstruct', model, data, seed: 0, batchSize: 1, quality: 95 },
      }),
    ).rejects.toThrow(new RegExp(`cannot reach the Redis queue at ${dead}`));
    await expect(startShardWorker({ url: dead, roots: roots() })).rejects.toThrow(
      /cannot reach the Redis queue/,
    );
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(fs.existsSync(path.join(tmp, 'never'))).toBe(false);
  });
});
