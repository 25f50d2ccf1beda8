/** Output folders never reach their inputs, follow no planted symlink, and hold one run at a time (issue 27). */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { alignFolder, DEFAULT_ALIGN_CONFIG } from '../../src/align/align-folder.js';
import { buildProgram } from '../../src/cli/index.js';
import { OUT_LOCK_NAME } from '../../src/core/fs.js';
import { guardOutDir, lockOutDir, realPathOf, withOutLock } from '../../src/core/out-guard.js';
import { reconstructDataset } from '../../src/protect/reconstruct-dataset.js';
import { initEngine } from '../../src/engine/backend.js';
import { distortDataset } from '../../src/protect/distort-dataset.js';

const root = path.resolve(import.meta.dirname, '../..');
const model = path.join(root, 'assets/models/facemae-tiny');
const sample = path.join(root, 'assets/sample/deploy');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-guard-'));
const cli = (...args: string[]) =>
  buildProgram()
    .exitOverride()
    .parseAsync(['node', 'facemae', '--quiet', ...args]);

/** Two identities of the sample, and a fingerprint of every byte in them. */
const makeData = (dir = tmp()) => {
  const d = path.join(dir, 'data');
  for (const id of fs.readdirSync(sample).sort().slice(0, 2))
    fs.cpSync(path.join(sample, id), path.join(d, id), { recursive: true });
  return d;
};
const snapshot = (dir: string) =>
  fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => {
      const p = path.join(e.parentPath, e.name);
      return `${path.relative(dir, p)}:${fs.readFileSync(p).toString('base64')}`;
    })
    .sort();
/** A pid that is certainly not running now. */
const deadPid = () => spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid as number;

describe('realPathOf', () => {
  it('resolves symlinks of the nearest existing ancestor and keeps the missing tail', () => {
    const d = tmp();
    fs.mkdirSync(path.join(d, 'real'));
    fs.symlinkSync(path.join(d, 'real'), path.join(d, 'link'));
    expect(realPathOf(path.join(d, 'link', 'a', 'b'))).toBe(path.join(fs.realpathSync(d), 'real', 'a', 'b'));
    expect(realPathOf(path.join(d, 'link', '..', 'real'))).toBe(path.join(fs.realpathSync(d), 'real'));
  });
});

describe('out vs data', () => {
  it('distort --out equal to --data is refused with --overwrite and --resume; no original changes', async () => {
    const data = makeData();
    const before = snapshot(data);
    for (const flag of ['--overwrite', '--resume']) {
      await expect(cli('distort', '--data', data, '--out', data, flag)).rejects.toThrow(
        new RegExp(`out ${data} is the same folder as data ${data}`),
      );
    }
    // the same folder spelled through a symlink and a ".."
    const link = path.join(tmp(), 'link');
    fs.symlinkSync(data, link);
    await expect(
      distortDataset({ method: 'mask', strength: 0.75, data, out: link, seed: 0 }, { overwrite: true }),
    ).rejects.toThrow(/is the same folder as data/);
    await expect(
      distortDataset(
        { method: 'blur', strength: 4, data, out: path.join(data, 'x', '..'), seed: 0 },
        { resume: true },
      ),
    ).rejects.toThrow(/is the same folder as data/);
    expect(snapshot(data)).toEqual(before);
    expect(fs.existsSync(path.join(data, 'config.json'))).toBe(false);
  });

  it('align refuses an --out inside --data reached through a symlink', async () => {
    const dir = tmp();
    const data = makeData(dir);
    const before = snapshot(data);
    fs.symlinkSync(data, path.join(dir, 'photos'));
    const out = path.join(dir, 'photos', 'crops');
    await expect(alignFolder({ ...DEFAULT_ALIGN_CONFIG, data, out })).rejects.toThrow(
      new RegExp(`out ${out} is inside data ${data}`),
    );
    expect(snapshot(data)).toEqual(before);
  });

  it('refuses a --data inside --out (a later --overwrite would write over it)', async () => {
    const out = tmp();
    const data = makeData(out);
    await expect(
      distortDataset({ method: 'mask', strength: 0.75, data, out, seed: 0 }, { overwrite: true }),
    ).rejects.toThrow(new RegExp(`out ${out} holds data ${data}`));
  });
});

describe('symlinks inside --out', () => {
  it('a planted link to an original folder is refused before any write', async () => {
    const dir = tmp();
    const data = makeData(dir);
    const before = snapshot(data);
    const out = path.join(dir, 'out');
    const id = fs.readdirSync(data).sort()[0]!;
    fs.mkdirSync(out);
    fs.symlinkSync(path.join(data, id), path.join(out, id));
    for (const opts of [{ resume: true }, { overwrite: true }]) {
      await expect(
        distortDataset({ method: 'mask', strength: 0.75, data, out, seed: 0 }, opts),
      ).rejects.toThrow(new RegExp(`holds a symbolic link, ${path.join(out, id)} -> `));
    }
    expect(snapshot(data)).toEqual(before);
    expect(fs.existsSync(path.join(out, OUT_LOCK_NAME))).toBe(false);
  });
});

describe('the lock', () => {
  beforeAll(async () => {
    await initEngine();
  });

  it('a second reconstruct on the same --out is refused naming the first; the lock goes with the run', async () => {
    const dir = tmp();
    const data = makeData(dir);
    const out = path.join(dir, 'out');
    const first = reconstructDataset({ model, data, out, seed: 0, batchSize: 2 });
    // the guard runs before the first await: the first run holds the folder now
    expect(fs.existsSync(path.join(out, OUT_LOCK_NAME))).toBe(true);
    for (const opts of [{ resume: true }, { overwrite: true }, {}]) {
      await expect(reconstructDataset({ model, data, out, seed: 1, batchSize: 2, ...opts })).rejects.toThrow(
        new RegExp(
          `output folder ${out} is in use by facemae reconstruct \\(pid ${process.pid} on ${os.hostname()}, since `,
        ),
      );
    }
    const r = await first;
    expect(fs.existsSync(path.join(out, OUT_LOCK_NAME))).toBe(false);
    const seeds = new Set(
      fs
        .readFileSync(r.manifest, 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { seed: number }).seed),
    );
    expect([...seeds]).toEqual([0]);
    expect(fs.readFileSync(r.manifest, 'utf8').trim().split('\n')).toHaveLength(r.images);
  }, 120_000);

  it("a stale lock on this host is taken over with a warning; another host's is not", () => {
    const out = tmp();
    const file = path.join(out, OUT_LOCK_NAME);
    const pid = deadPid();
    fs.writeFileSync(
      file,
      JSON.stringify({ pid, host: os.hostname(), startedAt: 'then', command: 'distort' }),
    );
    const warnings: string[] = [];
    const lock = guardOutDir(out, { inputs: [], command: 'distort', onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([
      `taking over the lock of facemae distort (pid ${pid} on ${os.hostname()}, since then) on ${out}: that process is gone`,
    ]);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).pid).toBe(process.pid);
    lock.release();
    expect(fs.existsSync(file)).toBe(false);

    fs.writeFileSync(file, JSON.stringify({ pid, host: 'elsewhere', startedAt: 'then', command: 'align' }));
    expect(() => lockOutDir(out, { command: 'distort' })).toThrow(
      `is in use by facemae align (pid ${pid} on elsewhere, since then)`,
    );
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).host).toBe('elsewhere');
  });

  it('a failed run releases the lock and removes a folder it made and left empty', async () => {
    const dir = tmp();
    const fresh = path.join(dir, 'fresh');
    await expect(
      withOutLock(guardOutDir(fresh, { inputs: [], command: 'distort' }), () =>
        Promise.reject(new Error('boom')),
      ),
    ).rejects.toThrow('boom');
    expect(fs.existsSync(fresh)).toBe(false);
    // a folder that the run wrote into stays (without the lock)
    const kept = path.join(dir, 'kept');
    await expect(
      withOutLock(guardOutDir(kept, { inputs: [], command: 'distort' }), async () => {
        fs.writeFileSync(path.join(kept, 'config.json'), '{}');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(fs.readdirSync(kept)).toEqual(['config.json']);
    const data = makeData(dir);
    await expect(
      distortDataset(
        { method: 'mask', strength: 0.75, data, out: kept, seed: 0, patchSize: 5 },
        { overwrite: true },
      ),
    ).rejects.toThrow(/patch size 5/);
    expect(fs.existsSync(path.join(kept, OUT_LOCK_NAME))).toBe(false);
  });

  it("release leaves a lock that is no longer this run's", () => {
    const out = tmp();
    const a = lockOutDir(out, { command: 'distort' });
    expect(() => lockOutDir(out, { command: 'distort' })).toThrow(/is in use by facemae distort/);
    fs.writeFileSync(a.file!, 'someone else');
    a.release();
    expect(fs.readFileSync(a.file!, 'utf8')).toBe('someone else');
  });
});
