/** The house rules a newcomer relies on: a short public surface and no import cycles. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';

const SRC = path.resolve(import.meta.dirname, '../src');

/** Relative imports of every src/*.ts file (static, re-exports and dynamic), as src-relative paths. */
function importGraph(): Map<string, string[]> {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) files.push(p);
    }
  };
  walk(SRC);
  const re = /(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;
  const g = new Map<string, string[]>();
  for (const f of files) {
    const targets: string[] = [];
    for (const m of fs.readFileSync(f, 'utf8').matchAll(re)) {
      const t = path.resolve(path.dirname(f), (m[1] ?? m[2])!).replace(/\.js$/, '.ts');
      if (fs.existsSync(t)) targets.push(path.relative(SRC, t));
    }
    g.set(path.relative(SRC, f), targets);
  }
  return g;
}

/** Strongly connected components with more than one node (Tarjan). */
function cycles(adj: Map<string, Set<string>>): string[][] {
  let i = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, i);
    low.set(v, i++);
    stack.push(v);
    on.add(v);
    for (const w of adj.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1) out.push(c.sort());
    }
  };
  for (const v of adj.keys()) if (!idx.has(v)) visit(v);
  return out;
}

describe('layout', () => {
  it('no import cycles between files, nor between folders', () => {
    const g = importGraph();
    const files = new Map([...g].map(([k, v]) => [k, new Set(v)]));
    expect(cycles(files)).toEqual([]);
    // a top-level file (index.ts, types.ts, version.ts) is its own node
    const folder = (f: string) => f.split(path.sep)[0]!;
    const folders = new Map<string, Set<string>>();
    for (const [f, ts] of g) {
      const a = folder(f);
      if (!folders.has(a)) folders.set(a, new Set());
      for (const t of ts) if (folder(t) !== a) folders.get(a)!.add(folder(t));
    }
    expect(cycles(folders)).toEqual([]);
  });

  it('the public API is what a library user calls: the verbs, their loaders and configs, the errors', () => {
    // (a new export is a decision: add it here)
    expect(Object.keys(api).sort()).toEqual(
      [
        'DEFAULT_ALIGN_CONFIG',
        'DEFAULT_SWEEP_CONFIG',
        'DEFAULT_TRAIN_FR',
        'DEFAULT_TRAIN_MAE',
        'DEMO_CONFIG',
        'DISTORTION_METHODS',
        'FaceMaeError',
        'VERSION',
        'alignFolder',
        'alignPhoto',
        'attack',
        'auditRelease',
        'createEmbedder',
        'createFaceDetector',
        'createRng',
        'distortDataset',
        'evaluateVerification',
        'exportCompactMae',
        'exportMaeOnnx',
        'initEngine',
        'listImageFolder',
        'loadConfigFile',
        'loadMaeRun',
        'loadSweepConfig',
        'mergeConfig',
        'parseAttackerSuite',
        'parseProtection',
        'protectDataset',
        'readImage',
        'readProtection',
        'readVerificationSet',
        'reconstructDataset',
        'resolveConfig',
        'runSweep',
        'trainFaceRecognizer',
        'trainMae',
        'verifyModel',
        'writeImage',
      ].sort(),
    );
  });

  it('no barrels: no index.ts re-exports a folder wholesale (each name is imported from its file)', () => {
    const barrels = [...importGraph().keys()].filter(
      (f) =>
        path.basename(f) === 'index.ts' && /^export \*/m.test(fs.readFileSync(path.join(SRC, f), 'utf8')),
    );
    expect(barrels).toEqual([]);
  });
});
