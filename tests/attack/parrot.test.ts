/**
 * The parrot attacker: the engine's mobileface backbone is the bundled attacker's network (same
 * embeddings from the same weights), its training set pairs A with protect(A) under A's labels,
 * and `facemae privacy` fine-tunes and uses it end to end.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parrotBase, parrotData } from '../../src/attack/parrot.js';
import { createRng } from '../../src/core/rng.js';
import { initEngine } from '../../src/engine/backend.js';
import { assignWeights } from '../../src/data/checkpoint.js';
import { readImage } from '../../src/data/image-folder.js';
import { createEmbedder, faceNetEmbedder } from '../../src/loaders/embedders.js';
import { readBackboneInit } from '../../src/loaders/run-face-net.js';
import { createBackbone } from '../../src/models/backbones/index.js';
import { cli, root } from '../support/cli.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-parrot-'));

describe('the parrot attacker', () => {
  it('the engine backbone "mobileface" with the bundled weights embeds like the bundled graph', async () => {
    await initEngine();
    const net = createBackbone('mobileface', createRng(0), { embeddingDim: 256, inputSize: 112 });
    const w = await readBackboneInit('mobileface');
    assignWeights({ ...net.params, ...net.buffers }, w, 'mobileface');
    for (const t of Object.values(w)) t.dispose();
    const ours = faceNetEmbedder(net, 'engine');
    const graph = await createEmbedder('mobileface');
    const dir = path.join(root, 'assets/sample/deploy');
    const id = fs.readdirSync(dir).sort()[0]!;
    const files = fs.readdirSync(path.join(dir, id)).sort().slice(0, 3);
    const px = new Uint8Array(3 * 112 * 112 * 3);
    for (const [i, f] of files.entries())
      px.set((await readImage(path.join(dir, id, f), { size: 112 })).data, i * 112 * 112 * 3);
    const a = await ours.embed(px, 3);
    const b = await graph.embed(px, 3);
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < a.length; i++) {
      diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
      scale = Math.max(scale, Math.abs(b[i]!));
    }
    expect(scale).toBeGreaterThan(1);
    expect(diff).toBeLessThan(1e-4 * scale);
    await ours.dispose();
    await graph.dispose();
    // a fresh backbone has other weights: the test above is not vacuous
    const fresh = createBackbone('mobileface', createRng(1), { embeddingDim: 256, inputSize: 112 });
    const c = await faceNetEmbedder(fresh, 'fresh').embed(px, 3);
    expect(Math.abs(c[0]! - b[0]!)).toBeGreaterThan(1e-3);
    fresh.dispose();
  }, 60_000);

  it('trains on A and protect(A) under one label per identity, and refuses what it cannot train', () => {
    const dir = tmp();
    for (const side of ['a', 'p']) {
      fs.mkdirSync(path.join(dir, side, 'id1'), { recursive: true });
      fs.writeFileSync(path.join(dir, side, 'id1', side === 'a' ? 'x.jpg' : 'x.png'), side);
    }
    const out = parrotData({
      original: path.join(dir, 'a'),
      protected: path.join(dir, 'p'),
      files: ['id1/x.jpg'],
      out: path.join(dir, 'u'),
    });
    expect(fs.readdirSync(path.join(out, 'id1')).sort()).toEqual(['p-x.png', 'x.jpg']);
    expect(() =>
      parrotData({
        original: path.join(dir, 'a'),
        protected: path.join(dir, 'p'),
        files: ['id1/y.jpg'],
        out: path.join(dir, 'v'),
      }),
    ).toThrow(/no protected copy of id1\/y.jpg/);
    expect(parrotBase('mobileface')).toEqual({
      backbone: 'mobileface',
      init: 'mobileface',
      embeddingDim: 256,
    });
    expect(() => parrotBase('faceres')).toThrow(/not one the engine can train/);
  });

  it('`facemae privacy --attacker mobileface+parrot` fine-tunes on A ∪ protect(A) and reports the parrot', () => {
    const data = tmp();
    const src = path.join(root, 'assets/sample/deploy');
    for (const id of fs.readdirSync(src).sort().slice(0, 6))
      fs.cpSync(path.join(src, id), path.join(data, id), { recursive: true });
    const rel = path.join(tmp(), 'rel');
    expect(
      cli('distort', '--data', data, '--out', rel, '--method', 'pixelate', '--strength', '8', '--quiet')
        .status,
    ).toBe(0);
    const work = path.join(tmp(), 'work');
    const r = cli(
      '--json',
      'privacy',
      '--original',
      data,
      '--protected',
      rel,
      '--public',
      path.join(root, 'assets/sample/train'),
      '--public-per-identity',
      '2',
      '--attacker',
      'mobileface,mobileface+parrot',
      '--work',
      work,
      '--quiet',
    );
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      attackers: Record<string, { kind: string; numProbes: number }>;
      protection: unknown;
    };
    expect(Object.keys(doc.attackers)).toEqual(['mobileface', 'mobileface+parrot']);
    expect(doc.attackers['mobileface+parrot']!.numProbes).toBe(24);
    expect(doc.protection).toEqual({ method: 'pixelate', strength: 8 });
    // the fine-tuned run is kept in --work for the next audit
    const runs = fs.readdirSync(path.join(work, 'parrot'));
    expect(runs.length).toBe(1);
    expect(fs.existsSync(path.join(work, 'parrot', runs[0]!, 'run', 'checkpoint.json'))).toBe(true);
  }, 180_000);
});
