import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/engine/backend.js';
import { buildProgram } from '../../src/cli/index.js';
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
