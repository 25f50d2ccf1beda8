import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/engine/backend.js';
import { buildProgram } from '../../src/cli/index.js';
import { disposeCheckpoint, loadCheckpoint } from '../../src/data/checkpoint.js';
import { makeDataset, TINY_TEST } from './helpers.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-cli-'));
const cli = (...args: string[]) =>
  buildProgram()
    .exitOverride()
    .parseAsync(['node', 'facemae', '--quiet', ...args]);

let data = '';
beforeAll(async () => {
  await initEngine();
  data = await makeDataset();
});

describe('train-mae / reconstruct / export commands', () => {
  it('train → reconstruct → export ONNX + compact, with --config, --set and resolved config saved', async () => {
    const dir = tmp();
    const cfgFile = path.join(dir, 'cfg.json');
    fs.writeFileSync(cfgFile, JSON.stringify({ model: { ...TINY_TEST, preset: null }, logEvery: 1 }));
    const run = path.join(dir, 'run');
    await cli(
      'train-mae',
      '--data',
      data,
      '--out',
      run,
      '--config',
      cfgFile,
      '--steps',
      '2',
      '--batch-size',
      '4',
      '--set',
      'irm.temperature=0.2',
    );
    const saved = JSON.parse(fs.readFileSync(path.join(run, 'config.json'), 'utf8'));
    expect(saved.config.irm.temperature).toBe(0.2);
    expect(saved.config.model.dim).toBe(32);
    expect(fs.readFileSync(path.join(run, 'log.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
    await expect(
      cli('train-mae', '--data', data, '--out', run, '--config', cfgFile, '--steps', '2'),
    ).rejects.toThrow(/--resume/);
    await expect(cli('train-mae', '--data', data, '--out', tmp(), '--set', 'model.bogus=1')).rejects.toThrow(
      /unknown key "model.bogus"/,
    );

    const out = path.join(dir, 'rec');
    await cli('reconstruct', '--model', run, '--data', data, '--out', out, '--seed', '1');
    expect(fs.readFileSync(path.join(out, 'manifest.jsonl'), 'utf8').trim().split('\n')).toHaveLength(12);

    const onnx = path.join(dir, 'mae.onnx');
    const compact = path.join(dir, 'compact');
    await cli('export', '--model', run, '--onnx', onnx, '--compact', compact);
    // the float16 copy holds the run's weights within half-precision rounding (relative 2^-11,
    // absolute 2^-25 near zero), every tensor present
    const full = loadCheckpoint(run);
    const half = loadCheckpoint(compact);
    try {
      expect(Object.keys(half.weights).sort()).toEqual(Object.keys(full.weights).sort());
      for (const [name, t] of Object.entries(full.weights)) {
        const a = t.dataSync();
        const b = half.weights[name]!.dataSync();
        expect(b.length).toBe(a.length);
        for (let i = 0; i < a.length; i++)
          expect(Math.abs(b[i]! - a[i]!)).toBeLessThanOrEqual(Math.abs(a[i]!) * 2 ** -11 + 2 ** -25);
      }
    } finally {
      disposeCheckpoint(full);
      disposeCheckpoint(half);
    }
    // outputs are never replaced silently, and a compact export never lands in a training run
    const runBin = fs.readdirSync(run).find((f) => f.endsWith('.bin'))!;
    const runBytes = fs.readFileSync(path.join(run, runBin));
    await expect(cli('export', '--model', run, '--onnx', onnx)).rejects.toThrow(
      `${onnx} already exists: pass --overwrite`,
    );
    await expect(cli('export', '--model', run, '--compact', compact)).rejects.toThrow(/--overwrite/);
    await expect(cli('export', '--model', run, '--compact', run, '--overwrite')).rejects.toThrow(
      /the run being exported/,
    );
    const other = path.join(dir, 'run2');
    fs.cpSync(run, other, { recursive: true });
    await expect(cli('export', '--model', run, '--compact', other, '--overwrite')).rejects.toThrow(
      /holds a training run/,
    );
    expect(fs.readFileSync(path.join(run, runBin)).equals(runBytes)).toBe(true);
    await cli('train-mae', '--data', data, '--out', other, '--resume', '--steps', '3');
    const s = await ort.InferenceSession.create(onnx);
    expect(s.inputNames).toEqual(['image', 'noise']);
    await s.release();
    // the compact float16 copy reconstructs too
    await cli('reconstruct', '--model', compact, '--data', data, '--out', path.join(dir, 'rec2'));
    expect(
      fs.statSync(
        path.join(
          compact,
          fs.readdirSync(compact).find((f) => f.endsWith('.bin'))!,
        ),
      ).size,
    ).toBeLessThan(
      fs.statSync(
        path.join(
          run,
          fs.readdirSync(run).find((f) => f.endsWith('.bin'))!,
        ),
      ).size / 5,
    );
  });
});
