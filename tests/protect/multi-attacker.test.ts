/** `facemae privacy` with two frozen attackers (the names and the worst case: tests/attack/parts.test.ts). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RetrievalMetrics } from '../../src/eval/retrieval.js';
import { cli, root } from '../support/cli.js';

describe('multi-attacker privacy', () => {
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
