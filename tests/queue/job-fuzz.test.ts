/**
 * A queue job is untrusted input (issue 27): random and hostile payloads thrown at the worker's
 * job handler are refused with a FaceMaeError, and nothing is written outside the run's output.
 * No Redis needed: the handler is called directly, with the producer's registration in a Map.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FaceMaeError } from '../../src/core/errors.js';
import { createRng, type Rng } from '../../src/core/rng.js';
import { checkShardJob } from '../../src/queue/job-check.js';
import {
  planShards,
  queueDir,
  runRegistration,
  shardDoneFile,
  type QueueTask,
  type ShardJobData,
} from '../../src/queue/shards.js';
import { handleShardJob, type ShardJobContext } from '../../src/queue/worker.js';

const root = path.resolve(import.meta.dirname, '../..');
const sample = path.join(root, 'assets/sample/deploy');

/** Every file under `dir` with its bytes, skipping `skip` (the run's own output). */
const snapshot = (dir: string, skip: string[]) =>
  fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((e) => path.join(e.parentPath, e.name))
    .filter((p) => !skip.some((s) => p === s || p.startsWith(s + path.sep)))
    .map((p) =>
      fs.lstatSync(p).isFile()
        ? `${p}:${crypto.createHash('sha1').update(fs.readFileSync(p)).digest('hex')}`
        : p,
    )
    .sort();

let box = '';
let out = '';
let data = '';
let valid: ShardJobData;
let ctx: ShardJobContext;

beforeAll(async () => {
  // box/ holds the data, the run's output, another run's output and a bait file; the worker's
  // roots are the whole box, so only the job checks stand between a hostile job and those files
  box = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-jobfuzz-')));
  data = path.join(box, 'data');
  for (const id of fs.readdirSync(sample).sort().slice(0, 2))
    fs.cpSync(path.join(sample, id), path.join(data, id), { recursive: true });
  fs.mkdirSync(path.join(box, 'other', '.queue'), { recursive: true });
  fs.writeFileSync(path.join(box, 'bait.json'), '{"secret": 1}');
  out = path.join(box, 'run');
  const task: QueueTask = { kind: 'distort', config: { method: 'blur', strength: 4, data, out, seed: 0 } };
  const { total, shards } = await planShards(task, 2);
  const runId = crypto.randomUUID();
  fs.mkdirSync(queueDir(out), { recursive: true });
  fs.writeFileSync(path.join(queueDir(out), 'job.json'), JSON.stringify({ runId, task, total, shards }));
  valid = { runId, out, task, shard: shards[0]! };
  const registered = new Map<string, string>([[runId, runRegistration(out, task)]]);
  ctx = {
    roots: { data: [box], model: [box], out: [box] },
    registration: async (id) => registered.get(id) ?? null,
  };
});

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- hostile edits reach anywhere in the job
type Loose = Record<string, any>;
const job = (edit: (j: Loose) => void) => {
  const j = clone(valid) as unknown as Loose;
  edit(j);
  return j;
};

/** Hostile payloads, each with what its refusal must say. */
const hostile = (): Array<[string, unknown, RegExp]> => [
  [
    'index as a path',
    job((j) => (j.shard.index = '/../../../../bait')),
    /shard\.index must be a non-negative integer/,
  ],
  ['negative index', job((j) => (j.shard.index = -1)), /shard\.index/],
  ['fractional index', job((j) => (j.shard.index = 0.5)), /shard\.index/],
  ['index past the plan', job((j) => (j.shard.index = 7)), /is not the shard planned in/],
  [
    'out elsewhere in the roots',
    job((j) => {
      j.out = path.join(box, 'other');
      j.task.config.out = j.out;
    }),
    /no producer registered run/,
  ],
  [
    'out outside the roots',
    job((j) => {
      j.out = os.tmpdir();
      j.task.config.out = j.out;
    }),
    /is not under this worker's --out-root/,
  ],
  [
    '/etc as data',
    job((j) => (j.task.config.data = '/etc')),
    /data \/etc is not under this worker's --data-root/,
  ],
  [
    'data swapped inside the roots',
    job((j) => (j.task.config.data = path.join(box, 'other'))),
    /no producer registered run/,
  ],
  [
    "out that differs from the task's",
    job((j) => (j.task.config.out = path.join(box, 'other'))),
    /task\.config\.out must equal out/,
  ],
  [
    'out equal to data',
    job((j) => {
      j.out = data;
      j.task.config.out = data;
    }),
    /is the same folder as data/,
  ],
  [
    'relative out',
    job((j) => {
      j.out = 'run';
      j.task.config.out = 'run';
    }),
    /out must be an absolute, normalised path/,
  ],
  [
    'out with ..',
    job((j) => {
      j.out = path.join(box, 'run') + '/../other';
      j.task.config.out = j.out;
    }),
    /absolute, normalised path/,
  ],
  [
    'file escaping data',
    job((j) => (j.shard.select.files[0] = '../../bait.json')),
    /must hold <identity>\/<image> paths|not a plain file/,
  ],
  [
    'file with .. as identity',
    job((j) => (j.shard.select.files[0] = '../bait.json')),
    /not a plain file or folder name/,
  ],
  [
    'absolute file',
    job((j) => (j.shard.select.files[0] = '/etc/passwd')),
    /<identity>\/<image>|not a plain file/,
  ],
  ['files not matching images', job((j) => j.shard.select.files.push('a/b.jpg')), /must list shard\.images/],
  [
    'swapped file list',
    job((j) => (j.shard.select.files = [...j.shard.select.files].reverse())),
    /is not the shard planned in/,
  ],
  ['range select on distort', job((j) => (j.shard.select = { start: 0, end: 2 })), /must list its files/],
  ['unknown job key', job((j) => (j.extra = 1)), /job has an unknown key "extra"/],
  ['unknown config key', job((j) => (j.task.config.strenght = 1)), /unknown key "strenght"/],
  [
    'prototype key',
    JSON.parse(JSON.stringify(valid).replace('"runId"', '"__proto__":{"x":1},"runId"')),
    /unknown key "__proto__"/,
  ],
  ['unregistered run', job((j) => (j.runId = crypto.randomUUID())), /no producer registered run/],
  ['runId as a path', job((j) => (j.runId = '../../x')), /runId must be a UUID/],
  ['negative seed', job((j) => (j.task.config.seed = -1)), /seed must be an integer/],
  ['huge strength', job((j) => (j.task.config.strength = 1e300)), /blur sigma/],
  ['no protection', job((j) => (j.task.config.strength = 0)), /protects nothing/],
  ['unknown kind', job((j) => (j.task.kind = 'shell')), /task\.kind must be/],
  [
    'reconstruct with mask ratio 0',
    job((j) => {
      j.task = { kind: 'reconstruct', model: box, data, seed: 0, batchSize: 1, quality: 95, maskRatio: 0 };
    }),
    /maskRatio 0 removes no patch/,
  ],
  [
    'model outside the model roots',
    job((j) => {
      j.task = { kind: 'reconstruct', model: '/etc', data, seed: 0, batchSize: 1, quality: 95 };
    }),
    /model \/etc is not under this worker's --model-root/,
  ],
  ['null', null, /job must be an object/],
  ['array', [valid], /job must be an object/],
  ['string', JSON.stringify(valid), /job must be an object/],
];

/** A random JSON-like value: what a confused or hostile producer might put anywhere. */
function randomValue(rng: Rng, depth = 0): unknown {
  const k = Math.floor(rng.next() * (depth > 2 ? 8 : 10));
  const words = [
    '',
    '..',
    '/',
    '/etc',
    '../../x',
    '__proto__',
    'constructor',
    'a/b',
    '\0',
    'shard-000000',
    out,
    data,
  ];
  switch (k) {
    case 0:
      return null;
    case 1:
      return rng.next() < 0.5;
    case 2:
      return Math.floor(rng.next() * 2e6) - 1e6;
    case 3:
      return [NaN, Infinity, -0, 1e300, 0.5, 2 ** 53, -1][Math.floor(rng.next() * 7)];
    case 4:
      return words[Math.floor(rng.next() * words.length)];
    case 5:
      return crypto.randomUUID();
    case 6:
      return path.join(
        box,
        ...Array.from(
          { length: 1 + Math.floor(rng.next() * 3) },
          () => words[Math.floor(rng.next() * words.length)]!,
        ),
      );
    case 7:
      return undefined;
    case 8:
      return Array.from({ length: Math.floor(rng.next() * 4) }, () => randomValue(rng, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = 0; i < 1 + Math.floor(rng.next() * 4); i++)
        o[
          ['runId', 'out', 'task', 'shard', 'index', 'select', 'files', 'kind', 'config', 'x'][
            Math.floor(rng.next() * 10)
          ]!
        ] = randomValue(rng, depth + 1);
      return o;
    }
  }
}

/** The valid job with one randomly chosen leaf (or key) replaced by a random value. */
function mutate(rng: Rng): unknown {
  const j = clone(valid) as unknown as Record<string, unknown>;
  const paths: Array<[Record<string, unknown> | unknown[], string | number]> = [];
  const walk = (o: unknown) => {
    if (o && typeof o === 'object')
      for (const [k, v] of Object.entries(o)) {
        paths.push([o as Record<string, unknown>, Array.isArray(o) ? Number(k) : k]);
        walk(v);
      }
  };
  walk(j);
  const n = 1 + Math.floor(rng.next() * 2);
  for (let i = 0; i < n; i++) {
    const [parent, key] = paths[Math.floor(rng.next() * paths.length)]!;
    if (rng.next() < 0.15) delete (parent as Record<string, unknown>)[key];
    else (parent as Record<string, unknown>)[key] = randomValue(rng);
  }
  return JSON.parse(JSON.stringify(j) ?? 'null');
}

describe("the worker's job handler", () => {
  it('runs the genuine job (the checks do not refuse what the producer sends)', async () => {
    expect(checkShardJob(clone(valid))).toEqual(valid);
    const r = await handleShardJob(clone(valid), ctx);
    expect(r).toMatchObject({ index: 0, images: 2, written: 2, errors: [] });
    expect(fs.existsSync(shardDoneFile(out, 0))).toBe(true);
  });

  it('refuses every hostile payload by its cause and writes nothing anywhere', async () => {
    const before = snapshot(box, []);
    for (const [what, payload, msg] of hostile()) {
      const err = await handleShardJob(payload, ctx).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, what).toBeInstanceOf(FaceMaeError);
      expect((err as Error).message, what).toMatch(msg);
    }
    expect(snapshot(box, [])).toEqual(before);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('500 random payloads and mutations of the genuine job: refused, or the genuine shard; nothing written outside the run', async () => {
    const rng = createRng(27);
    const before = snapshot(box, [out]);
    const planned = new Set(
      valid.shard.select && 'files' in valid.shard.select ? valid.shard.select.files : [],
    );
    let refused = 0;
    for (let i = 0; i < 500; i++) {
      const payload = i % 3 === 0 ? randomValue(rng) : mutate(rng);
      const r = await handleShardJob(payload, ctx).then(
        (v) => v,
        (e: unknown) => {
          if (!(e instanceof FaceMaeError))
            throw new Error(`payload ${JSON.stringify(payload)} threw a non-FaceMaeError: ${String(e)}`);
          refused++;
          return undefined;
        },
      );
      // a mutation that passes must be the genuine job (e.g. a leaf replaced by its own value)
      if (r) expect(checkShardJob(payload)).toEqual(valid);
    }
    expect(refused).toBeGreaterThan(450);
    expect(snapshot(box, [out])).toEqual(before);
    // inside the run: the plan, the shard's manifest and commit, and the images of the planned files only
    const written = snapshot(out, [queueDir(out)]).map((p) => path.relative(out, p.split(':')[0]!));
    for (const w of written) {
      if (fs.statSync(path.join(out, w)).isDirectory()) continue;
      expect(w.startsWith('images/') && planned.has(w.slice('images/'.length)), w).toBe(true);
    }
  }, 120_000);
});
