/** Several privacy attackers: spec parsing, the worst case, and `facemae privacy` with two attackers. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAttackers, worstCase } from '../../src/protect/privacy-audit.js';
import type { RetrievalMetrics } from '../../src/eval/retrieval.js';

const root = path.resolve(import.meta.dirname, '../..');
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/index.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
  });

const metrics = (top1: number): RetrievalMetrics => ({
  numProbes: 1,
  numGallery: 1,
  numIdentities: 1,
  instanceTop1: top1 / 2,
  identityTopK: { top1 },
  meanCosineToSource: 0,
  meanSourceRank: 0,
  chance: { instanceTop1: 0, identityTopK: { top1: 0 } },
  search: 'exact',
});

describe('multi-attacker privacy', () => {
  it('parses comma-separated and repeated attackers, refusing duplicates and an empty list', () => {
    expect(parseAttackers(['faceplugin,faceres', ' mobileface '])).toEqual([
      'faceplugin',
      'faceres',
      'mobileface',
    ]);
    expect(parseAttackers('faceres')).toEqual(['faceres']);
    expect(() => parseAttackers(['faceres', 'faceres'])).toThrow(/named twice/);
    expect(() => parseAttackers([' , '])).toThrow(/at least one/);
  });

  it('the worst case is the attacker with the highest identity top-1', () => {
    expect(worstCase({ a: metrics(0.2), b: metrics(0.7), c: metrics(0.5) })).toEqual({
      attacker: 'b',
      identityTop1: 0.7,
      instanceTop1: 0.35,
    });
  });

  it('reports each attacker and the worst case in --json', () => {
    const data = fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-attackers-'));
    const src = path.join(root, 'assets/sample/deploy');
    for (const id of fs.readdirSync(src).sort().slice(0, 3))
      fs.cpSync(path.join(src, id), path.join(data, id), { recursive: true });
    const r = cli(
      '--json',
      'privacy',
      '--original',
      data,
      '--protected',
      data,
      '--attacker',
      'faceplugin',
      '--attacker',
      'mobileface',
      '--irm-teacher',
      'faceres',
      '--quiet',
    );
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      attackers: Record<string, RetrievalMetrics & { attacker: string }>;
      worst: { attacker: string; identityTop1: number };
    };
    expect(Object.keys(doc.attackers)).toEqual(['faceplugin', 'mobileface']);
    const top1 = Object.values(doc.attackers).map((m) => m.identityTopK.top1!);
    expect(doc.worst.identityTop1).toBe(Math.max(...top1));
    // The originals as probes find themselves with any working recognizer.
    for (const m of Object.values(doc.attackers)) expect(m.instanceTop1).toBe(1);
  }, 60_000);
});
