/**
 * The worker against a real redis-server (issue 27): a password and an ACL user, a hostile job
 * added by hand, a Redis that goes away (one log line, not a flood) and SIGTERM with Redis gone
 * (the worker quits within its --shutdown-timeout). Skips without redis-server.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distortDataset } from '../../src/protect/distort-dataset.js';
import { checkQueueUrl, probeRedis, QUEUE_PASSWORD_ENV, redactUrl } from '../../src/queue/connection.js';
import { runQueued } from '../../src/queue/producer.js';
import { QUEUE_NAME } from '../../src/queue/shards.js';
import { startShardWorker, type ShardWorker } from '../../src/queue/worker.js';

const root = path.resolve(import.meta.dirname, '../..');
const sample = path.join(root, 'assets/sample/deploy');
const hasRedis = spawnSync('redis-server', ['--version']).status === 0;
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

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
const waitFor = async (cond: () => boolean, what: string, ms = 30_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
};

/** A redis-server of this test's own, with extra arguments (TLS when they name a certificate); resolves once it answers. */
async function startRedis(dir: string, ...args: string[]): Promise<{ proc: ChildProcess; port: number }> {
  const port = await freePort();
  const cert = args.includes('--tls-cert-file') ? args[args.indexOf('--tls-cert-file') + 1] : undefined;
  const ports = cert ? ['--port', '0', '--tls-port', String(port)] : ['--port', String(port)];
  const proc = spawn(
    'redis-server',
    [...ports, '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', ...args],
    { stdio: 'ignore' },
  );
  const tls = cert ? ['--tls', '--cacert', cert] : [];
  await waitFor(() => {
    const r =
      spawnSync('redis-cli', ['-p', String(port), ...tls, 'ping'], { timeout: 5000 }).stdout?.toString() ??
      '';
    return r.includes('PONG') || r.includes('NOAUTH');
  }, 'redis');
  return { proc, port };
}

/** Runs the CLI from source; resolves with its exit code and output. */
const cliRun = (args: string[], env: NodeJS.ProcessEnv) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/index.ts'), ...args], {
      cwd: root,
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });

describe('queue URLs', () => {
  it('accept credentials and TLS, and never show a password', () => {
    expect(checkQueueUrl('rediss://alice:pw@10.0.0.5:6380/2').protocol).toBe('rediss:');
    expect(redactUrl('redis://alice:s3cret@h:6379/0')).toBe('redis://alice:***@h:6379/0');
    expect(redactUrl('redis://:s3cret@h:6379')).toBe('redis://:***@h:6379');
    expect(redactUrl('redis://h:6379')).toBe('redis://h:6379');
    expect(() => checkQueueUrl('http://u:s3cret@h')).toThrow(/got "http:\/\/u:\*\*\*@h\/?"/);
  });
});

describe.skipIf(!hasRedis)('the worker on a real Redis (needs redis-server)', () => {
  let tmp = '';
  let data = '';
  const procs: ChildProcess[] = [];

  beforeAll(() => {
    tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-wredis-')));
    data = path.join(tmp, 'data');
    for (const id of fs.readdirSync(sample).sort().slice(0, 2))
      fs.cpSync(path.join(sample, id), path.join(data, id), { recursive: true });
  });
  afterAll(() => {
    for (const p of procs) p.kill('SIGKILL');
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });
  const roots = () => ({ out: [tmp], data: [tmp], model: [] });

  it('needs the password or ACL user, names the cause without the secret, and runs a job with them', async () => {
    const { proc, port } = await startRedis(
      tmp,
      '--requirepass',
      's3cret',
      '--user',
      'alice',
      'on',
      '>alicepw',
      '~*',
      '&*',
      '+@all',
    );
    procs.push(proc);
    const bare = `redis://127.0.0.1:${port}`;
    await expect(probeRedis(bare)).rejects.toThrow(
      new RegExp(`the Redis queue at ${bare} refused the credentials .*NOAUTH`),
    );
    const wrong = `redis://:guess@127.0.0.1:${port}`;
    const err = await probeRedis(wrong).catch((e: Error) => e);
    expect(err?.message).toMatch(/refused the credentials/);
    expect(err?.message).toContain(`redis://:***@127.0.0.1:${port}`);
    expect(err?.message).not.toContain('guess');
    await probeRedis(`redis://:s3cret@127.0.0.1:${port}`);
    await probeRedis(`redis://alice:alicepw@127.0.0.1:${port}`);
    process.env[QUEUE_PASSWORD_ENV] = 's3cret';
    try {
      await probeRedis(bare);
    } finally {
      delete process.env[QUEUE_PASSWORD_ENV];
    }

    // a whole queued distort through the ACL user: producer, events and worker all authenticate
    const url = `redis://alice:alicepw@127.0.0.1:${port}`;
    const w = await startShardWorker({ url, roots: roots() });
    try {
      const out = path.join(tmp, 'auth-out');
      const r = await runQueued({
        url,
        out,
        shardSize: 2,
        pollSec: 0.2,
        task: { kind: 'distort', config: { method: 'blur', strength: 4, data, out, seed: 0 } },
      });
      expect(r.written).toBe(r.images);
      // the one release layout: the shards' merged manifest is the single-process run's
      const single = await distortDataset({
        method: 'blur',
        strength: 4,
        data,
        out: path.join(tmp, 'auth-single'),
        seed: 0,
      });
      expect(fs.readFileSync(r.manifest, 'utf8')).toBe(fs.readFileSync(single.manifest, 'utf8'));
      // nothing the run leaves behind holds the password
      for (const e of fs.readdirSync(out, { recursive: true, withFileTypes: true }))
        if (e.isFile())
          expect(fs.readFileSync(path.join(e.parentPath, e.name)).includes('alicepw')).toBe(false);
    } finally {
      await w.close();
    }
  }, 60_000);

  it('a hand-made job naming folders of no run fails on the worker, which writes nothing', async () => {
    const { proc, port } = await startRedis(tmp);
    procs.push(proc);
    const url = `redis://127.0.0.1:${port}`;
    const events: string[] = [];
    const w = await startShardWorker({ url, roots: roots(), onEvent: (m) => events.push(m) });
    const q = new Queue(QUEUE_NAME, { connection: { url } });
    const target = path.join(tmp, 'stolen');
    fs.mkdirSync(path.join(target, '.queue'), { recursive: true });
    try {
      const files = fs
        .readdirSync(data)
        .flatMap((id) => fs.readdirSync(path.join(data, id)).map((f) => `${id}/${f}`))
        .slice(0, 2);
      // the case: a copy of one folder's images into another, with an index that escapes
      await q.add('distort', {
        runId: '00000000-0000-4000-8000-000000000000',
        out: target,
        task: { kind: 'distort', config: { method: 'blur', strength: 4, data, out: target, seed: 0 } },
        shard: { index: 0, images: 2, select: { files } },
      });
      await q.add('distort', { runId: 'x', out: target, task: {}, shard: { index: '/../../x' } });
      await waitFor(() => events.filter((e) => /failed: queue job refused/.test(e)).length === 2, 'refusals');
      expect(events.join('\n')).toMatch(/no producer registered run 00000000-0000-4000-8000-000000000000/);
      expect(fs.readdirSync(target)).toEqual(['.queue']);
      expect(fs.readdirSync(path.join(target, '.queue'))).toEqual([]);
      expect(fs.existsSync(path.join(tmp, 'x.json'))).toBe(false);
    } finally {
      await q.close();
      await w.close();
    }
  }, 60_000);

  it('a Redis outage is one line; close() lets go within its deadline with Redis gone', async () => {
    const { proc, port } = await startRedis(tmp);
    const events: string[] = [];
    const w: ShardWorker = await startShardWorker({
      url: `redis://127.0.0.1:${port}`,
      roots: roots(),
      onEvent: (m) => events.push(m),
    });
    proc.kill('SIGKILL');
    await sleep(3000);
    const lost = events.filter((e) => /lost Redis/.test(e));
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatch(new RegExp(`queue: lost Redis at redis://127\\.0\\.0\\.1:${port} \\(`));
    expect(events.length).toBeLessThanOrEqual(2);
    const t0 = Date.now();
    await w.close(1);
    expect(Date.now() - t0).toBeLessThan(3000);
  }, 30_000);

  it('the worker CLI quits on SIGTERM within --shutdown-timeout with Redis gone', async () => {
    const { proc, port } = await startRedis(tmp);
    const worker = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(root, 'src/cli/index.ts'),
        'worker',
        '--queue',
        `redis://127.0.0.1:${port}`,
        '--out-root',
        tmp,
        '--data-root',
        tmp,
        '--shutdown-timeout',
        '2',
      ],
      { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    procs.push(worker);
    let log = '';
    worker.stderr!.on('data', (b: Buffer) => (log += b.toString()));
    const exited = new Promise<number | null>((res) => worker.on('exit', (code) => res(code)));
    await waitFor(() => log.includes('waiting for shards'), 'worker start', 60_000);
    proc.kill('SIGKILL');
    await sleep(2500);
    const t0 = Date.now();
    worker.kill('SIGTERM');
    const code = await exited;
    expect(Date.now() - t0).toBeLessThan(6000);
    expect(code).toBe(0);
    expect(log.match(/lost Redis/g)).toHaveLength(1);
  }, 90_000);
});

describe.skipIf(!hasRedis || !hasOpenssl)('rediss:// (needs redis-server with TLS and openssl)', () => {
  it('producer and worker reach a TLS Redis with a password from the environment; an untrusted certificate is named', async () => {
    const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-tls-')));
    const procs: ChildProcess[] = [];
    try {
      const cert = path.join(tmp, 'cert.pem');
      const key = path.join(tmp, 'key.pem');
      const made = spawnSync('openssl', [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ]);
      expect(made.status).toBe(0);
      const { proc, port } = await startRedis(
        tmp,
        '--tls-cert-file',
        cert,
        '--tls-key-file',
        key,
        '--tls-auth-clients',
        'no',
        '--requirepass',
        's3cret',
      );
      procs.push(proc);
      const url = `rediss://127.0.0.1:${port}`;
      // this process does not trust the self-signed certificate: the probe says why
      await expect(probeRedis(`rediss://:s3cret@127.0.0.1:${port}`)).rejects.toThrow(
        new RegExp(
          `cannot reach the Redis queue at rediss://:\\*\\*\\*@127\\.0\\.0\\.1:${port} \\(.*SELF_SIGNED`,
        ),
      );
      const data = path.join(tmp, 'data');
      for (const id of fs.readdirSync(sample).sort().slice(0, 2))
        fs.cpSync(path.join(sample, id), path.join(data, id), { recursive: true });
      const env = { NODE_EXTRA_CA_CERTS: cert, [QUEUE_PASSWORD_ENV]: 's3cret' };
      const worker = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          path.join(root, 'src/cli/index.ts'),
          'worker',
          '--queue',
          url,
          '--out-root',
          tmp,
          '--data-root',
          tmp,
        ],
        { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      procs.push(worker);
      let log = '';
      worker.stderr!.on('data', (b: Buffer) => (log += b.toString()));
      await waitFor(() => log.includes('waiting for shards'), 'worker over TLS', 60_000);
      const out = path.join(tmp, 'out');
      const r = await cliRun(
        [
          '--quiet',
          '--json',
          'distort',
          '--method',
          'blur',
          '--strength',
          '4',
          '--data',
          data,
          '--out',
          out,
          '--queue',
          url,
          '--shard-size',
          '2',
        ],
        env,
      );
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const res = JSON.parse(r.stdout) as { images: number; written: number };
      expect(res.written).toBe(res.images);
      expect(log).toMatch(/done \(2 written, 0 errors\)/);
    } finally {
      for (const p of procs) p.kill('SIGKILL');
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }, 120_000);
});
