import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runInProcess } from '../support/run-cli.js';
import { writeBin } from '../../src/data/bin-file.js';
import { readVerificationSet } from '../../src/data/verification-set.js';

const root = path.resolve(import.meta.dirname, '../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fr-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs `facemae ...args` in-process and returns what it printed on stdout. */
const run = runInProcess;

describe('facemae verify / train-fr', () => {
  it('verify --json on an insightface .bin: one JSON document with the protocol numbers, and a ROC PNG', async () => {
    // 10 sample LFW pairs (first of each fold's same and different halves) written as a .bin.
    const set = await readVerificationSet(`lfw:${path.join(root, 'assets/sample/verify')}`);
    const keep = Array.from({ length: 10 }, (_, i) => i * 20 + (i % 2) * 10);
    const files = keep.flatMap((k) => [set.sources[2 * k] as string, set.sources[2 * k + 1] as string]);
    const bin = path.join(tmp, 'tiny.bin');
    await writeBin(bin, {
      images: files.map((f) => new Uint8Array(fs.readFileSync(f))),
      issame: keep.map((k) => set.issame[k] as boolean),
    });
    const roc = path.join(tmp, 'roc.png');
    const out = await run([
      '--json',
      '--quiet',
      'verify',
      '--model',
      'faceplugin',
      '--target',
      `bin:${bin}`,
      '--roc',
      roc,
    ]);
    const doc = JSON.parse(out) as {
      results: {
        name: string;
        pairs: number;
        accuracy: number;
        tarAtFar: { tar: number };
        foldAccuracies: number[];
      }[];
    };
    expect(doc.results[0]?.name).toBe('tiny');
    expect(doc.results[0]?.pairs).toBe(10);
    expect(doc.results[0]?.foldAccuracies).toHaveLength(10);
    expect(doc.results[0]?.accuracy).toBeGreaterThanOrEqual(0.8);
    expect(fs.readFileSync(roc).subarray(1, 4).toString()).toBe('PNG');
  });

  it('explains what is missing or wrong', async () => {
    await expect(run(['verify'])).rejects.toThrow(/give at least one --target/);
    // the old spelling of --target is refused with the new one
    await expect(run(['verify', '--set', `bin:${tmp}/x.bin`])).rejects.toThrow(
      /verification sets are given with --target \(--target bin:.*x\.bin\)/,
    );
    await expect(
      run(['train-fr', '--out', path.join(tmp, 'r'), '--data', tmp, '--loss', 'sphere']),
    ).rejects.toThrow(/--loss must be one of arcface, cosface, softmax, got "sphere"/);
    await expect(run(['train-fr', '--data', tmp])).rejects.toThrow(/--out <dir> is required/);
    await expect(
      run(['train-fr', '--out', path.join(tmp, 'r3'), '--data', tmp, '--backbone', 'r19']),
    ).rejects.toThrow(/--backbone must be one of r18, .*, got "r19"/);
    await expect(
      run(['train-fr', '--out', path.join(tmp, 'r2'), '--data', tmp, '--set', 'margin.bogus=1']),
    ).rejects.toThrow(/unknown key "margin.bogus"/);
  });
});
