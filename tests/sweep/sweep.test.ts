import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSweep } from '../../src/sweep/sweep.js';
import { fakeVerification, fakeDeps, smallDeploy, tinySweepConfig } from './fakes.js';

const root = path.resolve(import.meta.dirname, '../..');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-sweep-'));

describe('runSweep with fake training steps', () => {
  it('runs every step, writes the report, and a re-run redoes only what changed', async () => {
    const work = tmp();
    const deploy = smallDeploy(root, path.join(work, 'deploy'));
    const out = path.join(work, 'run');
    const cfg = tinySweepConfig(root, deploy);
    const calls: string[] = [];
    const r = await runSweep(cfg, { out, deps: fakeDeps(calls) });
    expect(fs.existsSync(r.report)).toBe(true);
    expect(fs.existsSync(path.join(out, 'report', 'grid.png'))).toBe(true);
    expect(fs.existsSync(path.join(out, 'config.json'))).toBe(true);
    expect([...r.outcomes.values()].filter((o) => o.status !== 'done')).toEqual([]);
    const rows = Object.fromEntries(r.data.rows.map((x) => [x.id, x]));
    expect(Object.keys(rows)).toEqual([
      'original',
      'facemae-r0.5',
      'facemae-r0.75',
      'mask-0.75',
      'blur-4',
      'pixelate-16',
      'noise-40',
    ]);
    // The originals as probes find themselves; protections lower the attack.
    expect(rows.original!.privacy!.instanceTop1).toBe(1);
    expect(rows['pixelate-16']!.privacy!.meanCosineToSource).toBeLessThan(
      rows.original!.privacy!.meanCosineToSource,
    );
    // Each row carries the verification of the recognizer trained on its own version (not a copy
    // of another row's, nor a constant): the fake's figure hashes that recognizer's training data.
    for (const row of r.data.rows) {
      expect(row.status).toBe('ok');
      const u = row.utility['lfw:fake']!;
      // A 95% interval around the accuracy, and paired differences to the two reference rows.
      expect(u.ci95![0]).toBeLessThanOrEqual(u.accuracy);
      expect(u.ci95![1]).toBeGreaterThanOrEqual(u.accuracy);
      expect(u.ci95![1] - u.ci95![0]).toBeGreaterThan(0.02);
      if (row.id !== 'original') {
        const d = u.vs!.original!;
        expect(d.diff).toBeCloseTo(u.accuracy - rows.original!.utility['lfw:fake']!.accuracy, 10);
        expect(d.significant).toBe(d.ci95[0] > 0 || d.ci95[1] < 0);
      }
      // ... and to every FaceMAE row (the one nearest a baseline's privacy is the one to read)
      for (const ref of ['facemae-r0.5', 'facemae-r0.75'])
        if (row.id !== ref)
          expect(u.vs![ref]!.diff).toBeCloseTo(u.accuracy - rows[ref]!.utility['lfw:fake']!.accuracy, 10);
        else expect(u.vs![ref]).toBeUndefined();
      const fr = (r.outcomes.get(`fr-${row.id}`)?.result as { run?: string } | undefined)?.run;
      expect(fr).toBeDefined();
      expect(row.utility['lfw:fake']!.accuracy).toBe(fakeVerification(fr!).accuracy);
    }
    expect(new Set(r.data.rows.map((x) => x.utility['lfw:fake']!.accuracy)).size).toBeGreaterThan(1);
    expect(r.data.teacher).toBe(path.join(out, 'steps', 'teacher'));
    const html = fs.readFileSync(r.report, 'utf8');
    expect(html).toContain('FaceMAE, mask ratio 0.75');
    expect(html).toContain('<svg');

    // Re-run: everything cached. Then change one baseline: only its steps (and the grid) run again.
    const calls2: string[] = [];
    const r2 = await runSweep(cfg, { out, deps: fakeDeps(calls2) });
    expect(calls2.filter((c) => c !== 'createEmbedder')).toEqual([]);
    expect([...r2.outcomes.values()].every((o) => o.status === 'cached')).toBe(true);
    const cfg3 = {
      ...cfg,
      baselines: cfg.baselines.map((b) => (b.method === 'noise' ? { ...b, strength: 10 } : b)),
    };
    const r3 = await runSweep(cfg3, { out, deps: fakeDeps([]) });
    const ran = [...r3.outcomes.values()].filter((o) => o.status === 'done').map((o) => o.id);
    expect(ran.sort()).toEqual(['fr-noise-10', 'grids', 'noise-10', 'privacy-noise-10', 'verify-noise-10']);
  });

  it('turns a missing area into "not available" rows instead of failing the sweep', async () => {
    const work = tmp();
    const deploy = smallDeploy(root, path.join(work, 'deploy'));
    const cfg = {
      ...tinySweepConfig(root, deploy),
      teacher: 'faceplugin',
      attackers: ['/elsewhere/attacker.onnx'],
      maskRatios: [0.75],
      baselines: [],
    };
    const r = await runSweep(cfg, {
      out: path.join(work, 'run'),
      deps: fakeDeps([], { noRecognizer: true }),
    });
    for (const row of r.data.rows) {
      expect(row.privacy).toBeDefined();
      expect(row.status).toBe('partial');
      expect(row.notes.join(' ')).toMatch(/utility not available .*not available: trainFaceRecognizer/);
    }
    expect(fs.readFileSync(r.report, 'utf8')).toContain('not available: trainFaceRecognizer');
  });

  it('uses a pretrained FaceMAE when its folder exists: no teacher or MAE training, teacher read from its config', async () => {
    const work = tmp();
    const deploy = smallDeploy(root, path.join(work, 'deploy'));
    const pre = path.join(work, 'facemae-tiny');
    fs.mkdirSync(pre);
    fs.writeFileSync(
      path.join(pre, 'config.json'),
      JSON.stringify({ config: { irm: { teacher: 'faceplugin' } } }),
    );
    const calls: string[] = [];
    const cfg = {
      ...tinySweepConfig(root, deploy),
      mae: { pretrained: pre, train: {} },
      maskRatios: [0.75],
      baselines: [],
    };
    const r = await runSweep(cfg, { out: path.join(work, 'run'), deps: fakeDeps(calls) });
    expect(r.outcomes.has('teacher')).toBe(false);
    expect(calls).not.toContain('trainMae');
    expect(r.outcomes.get('mae')?.result).toMatchObject({
      run: pre,
      pretrained: true,
      teacher: 'faceplugin',
    });
    expect(r.outcomes.get('privacy-facemae-r0.75')?.error).toMatch(
      /attacker \(faceplugin\) is the IRM teacher \(faceplugin\)/,
    );
    expect(r.data.notes.join(' ')).toMatch(/pretrained run/);
  });

  it('redoes the FaceMAE rows when the pretrained model at the same path gets other weights', async () => {
    const work = tmp();
    const deploy = smallDeploy(root, path.join(work, 'deploy'));
    const pre = path.join(work, 'facemae-tiny');
    fs.mkdirSync(pre);
    fs.writeFileSync(path.join(pre, 'config.json'), JSON.stringify({ config: { irm: { teacher: null } } }));
    fs.writeFileSync(path.join(pre, 'weights.bin'), 'first');
    const cfg = {
      ...tinySweepConfig(root, deploy),
      mae: { pretrained: pre, train: {} },
      maskRatios: [0.75],
      baselines: [],
    };
    const out = path.join(work, 'run');
    await runSweep(cfg, { out, deps: fakeDeps([]) });
    const again = await runSweep(cfg, { out, deps: fakeDeps([]) });
    expect(again.outcomes.get('mae')?.status).toBe('cached');
    expect(again.outcomes.get('facemae-r0.75')?.status).toBe('cached');
    fs.writeFileSync(path.join(pre, 'weights.bin'), 'second');
    const replaced = await runSweep(cfg, { out, deps: fakeDeps([]) });
    expect(replaced.outcomes.get('mae')?.status).toBe('done');
    expect(replaced.outcomes.get('facemae-r0.75')?.status).toBe('done');
    expect(replaced.outcomes.get('privacy-original')?.status).toBe('cached');
  });

  it('refuses to attack FaceMAE with its own IRM teacher (the row says why)', async () => {
    const work = tmp();
    const deploy = smallDeploy(root, path.join(work, 'deploy'));
    const cfg = {
      ...tinySweepConfig(root, deploy),
      teacher: 'faceplugin',
      attackers: ['faceplugin'],
      maskRatios: [0.75],
      baselines: [],
    };
    const r = await runSweep(cfg, { out: path.join(work, 'run'), deps: fakeDeps([]) });
    expect(r.outcomes.get('privacy-facemae-r0.75')?.status).toBe('failed');
    expect(r.outcomes.get('privacy-facemae-r0.75')?.error).toMatch(/is the IRM teacher/);
    expect(r.outcomes.get('privacy-original')?.status).toBe('done');
  });

  it('makes a FaceMAE row per (mask ratio, paste-back weight), keeping the pasted-back rows as they were', async () => {
    const work = tmp();
    const deploy = smallDeploy(root, path.join(work, 'deploy'));
    const calls: string[] = [];
    const cfg = {
      ...tinySweepConfig(root, deploy),
      maskRatios: [0.75],
      pasteBack: [1, 0],
      baselines: [],
      utility: false,
    };
    const r = await runSweep(cfg, { out: path.join(work, 'run'), deps: fakeDeps(calls) });
    expect(r.data.rows.map((x) => x.id)).toEqual(['original', 'facemae-r0.75', 'facemae-r0.75-pb0']);
    expect(calls).toEqual(expect.arrayContaining(['reconstruct 0.75', 'reconstruct 0.75 pasteBack 0']));
    expect(r.data.rows[2]!.label).toMatch(/paste-back 0$/);
  });

  it("attacks with several attackers: each one per row, the worst case as the row's privacy", async () => {
    const work = tmp();
    const deploy = smallDeploy(root, path.join(work, 'deploy'));
    const cfg = {
      ...tinySweepConfig(root, deploy),
      teacher: 'faceplugin',
      attackers: ['/elsewhere/a.onnx', 'faceplugin'],
      maskRatios: [0.75],
      baselines: [{ method: 'pixelate' as const, strength: 16 }],
    };
    const r = await runSweep(cfg, { out: path.join(work, 'run'), deps: fakeDeps([]) });
    // The teacher among the attackers fails the FaceMAE row's attack, not the others'.
    expect(r.outcomes.get('privacy-facemae-r0.75')?.error).toMatch(
      /attacker \(faceplugin\) is the IRM teacher \(faceplugin\)/,
    );
    const row = r.data.rows.find((x) => x.id === 'pixelate-16')!;
    expect(Object.keys(row.privacyByAttacker!)).toEqual(['/elsewhere/a.onnx', 'faceplugin']);
    const top1 = Object.values(row.privacyByAttacker!).map((f) => f.identityTop1);
    expect(row.privacy!.identityTop1).toBe(Math.max(...top1));
    expect(row.privacy).toEqual(row.privacyByAttacker![row.worstAttacker!]);
    expect(row.notes.join(' ')).toMatch(/identity top-1 by attacker: .*\(worst: /);
    expect(r.data.attacker).toBe('/elsewhere/a.onnx, faceplugin');
  });
});

describe('the adaptive attacker suite in a sweep', () => {
  it('protects A once per row with the attacker seed, fits the suite on it, and fine-tunes the parrot only on the rows named', async () => {
    const work = tmp();
    const deploy = smallDeploy(root, path.join(work, 'deploy'));
    const out = path.join(work, 'run');
    const cfg = {
      ...tinySweepConfig(root, deploy),
      attackers: ['suite:mobileface', 'mobileface+parrot'],
      publicImagesPerIdentity: 2,
      parrotSets: ['noise-40'],
      parrot: { epochs: 1, batchSize: 8, lr: 0.001, seed: 0 },
      maskRatios: [],
      baselines: [
        { method: 'noise' as const, strength: 40 },
        { method: 'blur' as const, strength: 4 },
      ],
      utility: false,
    };
    const r = await runSweep(cfg, { out, deps: fakeDeps([]) });
    const ids = [...r.outcomes.keys()];
    expect(ids).toEqual(expect.arrayContaining(['public-noise-40', 'public-blur-4', 'parrot-noise-40']));
    expect(ids).not.toContain('public-original');
    expect(ids).not.toContain('parrot-blur-4');
    for (const [id, o] of r.outcomes) expect(o.status, `${id}: ${o.error}`).not.toBe('failed');
    // protect(A): 10 identities × 2 images, made with the sweep seed + 1
    const pubCfg = JSON.parse(fs.readFileSync(path.join(out, 'steps/public-noise-40/config.json'), 'utf8'));
    expect(pubCfg.config.seed).toBe(cfg.seed + 1);
    const rows = Object.fromEntries(r.data.rows.map((x) => [x.id, x]));
    expect(Object.keys(rows['noise-40']!.privacyByAttacker!)).toEqual([
      'mobileface',
      'mobileface+reversal',
      'mobileface+adaptation',
      'mobileface+pooling',
      'mobileface+parrot',
    ]);
    expect(Object.keys(rows['blur-4']!.privacyByAttacker!)).not.toContain('mobileface+parrot');
    // the report shows the frozen attacker beside the worst case and its interval
    const noise = rows['noise-40']!;
    expect(noise.frozenIdentityTop1).toBe(noise.privacyByAttacker!.mobileface!.identityTop1);
    expect(noise.privacy!.identityTop1).toBeGreaterThanOrEqual(noise.frozenIdentityTop1!);
    expect(noise.worstCi95![0]).toBeLessThanOrEqual(noise.privacy!.identityTop1);
    expect(noise.worstCi95![1]).toBeGreaterThanOrEqual(noise.privacy!.identityTop1);
    expect(noise.privacyByAttacker!['mobileface+pooling']!.unit).toBe('label');
    // the embedding cache is on disk: a changed row re-embeds nothing it has seen
    expect(fs.readdirSync(path.join(out, 'cache/embeddings')).length).toBeGreaterThan(0);
  }, 180_000);
});

describe('the evidence protocol: split by identity, λ = 0 ablation, privacy-only pass', () => {
  it('makes B from the split, A from the training folder plus the remainder, and adds the ablation rows', async () => {
    const work = tmp();
    const pool = smallDeploy(root, path.join(work, 'pool')); // 5 identities
    const out = path.join(work, 'run');
    const calls: string[] = [];
    const cfg = {
      ...tinySweepConfig(root, ''),
      split: {
        dir: pool,
        seed: 3,
        deployIdentities: 3,
        trainPrefix: 'pub-',
        restPrefix: 'pool-',
        maxImagesPerIdentity: 3,
      },
      ablation: { pretrained: null, train: {}, maskRatios: [0.75] },
      utility: false,
      privacyImagesPerIdentity: 2,
      maskRatios: [0.75],
      baselines: [{ method: 'blur' as const, strength: 4 }],
    };
    const r = await runSweep(cfg, { out, deps: fakeDeps(calls) });
    const split = path.join(out, 'steps', 'split');
    const deployIds = fs.readdirSync(path.join(split, 'deploy')).sort();
    const trainIds = fs.readdirSync(path.join(split, 'train')).sort();
    const poolIds = fs.readdirSync(pool).sort();
    expect(deployIds).toHaveLength(3);
    // B keeps the first 3 images (sorted) of each identity; A keeps all of its identities' images.
    for (const id of deployIds)
      expect(fs.readdirSync(path.join(split, 'deploy', id))).toEqual(
        fs.readdirSync(path.join(pool, id)).sort().slice(0, 3),
      );
    // A holds the public training folder's identities and the 2 pool identities not in B.
    const rest = poolIds.filter((id) => !deployIds.includes(id));
    expect(rest).toHaveLength(2);
    for (const id of rest) expect(trainIds).toContain(`pool-${id}`);
    for (const id of deployIds) expect(trainIds).not.toContain(`pool-${id}`);
    const publicIds = fs.readdirSync(cfg.train).filter((x) => !x.startsWith('.'));
    for (const id of publicIds) expect(trainIds).toContain(`pub-${id}`);
    // Both MAEs trained (the ablation without a teacher); no recognizer trained on B.
    expect(calls.filter((c) => c === 'trainMae')).toHaveLength(2);
    expect(r.outcomes.get('mae-noirm')?.result).toMatchObject({ teacher: null });
    expect(r.data.rows.map((x) => x.id)).toEqual([
      'original',
      'facemae-r0.75',
      'facemae-noirm-r0.75',
      'blur-4',
    ]);
    expect([...r.outcomes.keys()].some((k) => k.startsWith('fr-') && k !== 'fr-teacher')).toBe(false);
    expect(r.data.rows.find((x) => x.id === 'facemae-noirm-r0.75')?.privacy).toBeDefined();
    // The evidence file: one row per version, each attacker's figures, no utility in this pass.
    const ev = JSON.parse(fs.readFileSync(path.join(out, 'report', 'evidence.json'), 'utf8'));
    expect(ev.protocol.split.deployIdentities).toBe(3);
    expect(ev.rows.map((x: { method: string }) => x.method)).toEqual([
      'original',
      'facemae',
      'facemae-noirm',
      'blur',
    ]);
    for (const row of ev.rows) {
      expect(Object.keys(row.privacy).length).toBeGreaterThan(0);
      expect(row.worstIdentityTop1).toBe(
        Math.max(...Object.values(row.privacy).map((p) => (p as { identityTop1: number }).identityTop1)),
      );
      expect(row.lfw).toBeNull();
    }
    // The attack ran on 2 of the 3 images of each of B's 3 identities: the originals find themselves.
    const byAttacker = r.outcomes.get('privacy-original')?.result?.attackers as Record<
      string,
      { numGallery: number; instanceTop1: number }
    >;
    const orig = Object.values(byAttacker)[0]!;
    expect(orig.instanceTop1).toBe(1);
    expect(orig.numGallery).toBe(6);
  });

  it('refuses a split together with deploy, and equal prefixes', async () => {
    const { resolveSweepPaths } = await import('../../src/sweep/config.js');
    const base = tinySweepConfig(root, 'x');
    const split = { dir: 'p', seed: 0, deployIdentities: 2, trainPrefix: 'a-', restPrefix: 'b-' };
    expect(() => resolveSweepPaths({ ...base, split }, root)).toThrow(/both "deploy" and "split"/);
    expect(() =>
      resolveSweepPaths({ ...base, deploy: '', split: { ...split, restPrefix: 'a-' } }, root),
    ).toThrow(/must differ/);
    expect(() =>
      resolveSweepPaths({ ...base, deploy: '', split: { ...split, deployIdentities: 0 } }, root),
    ).toThrow(/split.deployIdentities/);
  });
});
