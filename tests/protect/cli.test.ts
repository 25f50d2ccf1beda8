/** The distort / privacy / sweep verbs through the real CLI (run from source with tsx). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, root } from '../support/cli.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-cli-'));

describe('facemae distort / privacy / sweep', () => {
  it('distort writes the dataset and prints one JSON document with --json', () => {
    const data = path.join(tmp(), 'd');
    const src = path.join(root, 'assets/sample/deploy');
    for (const id of fs.readdirSync(src).sort().slice(0, 2))
      fs.cpSync(path.join(src, id), path.join(data, id), { recursive: true });
    const out = path.join(tmp(), 'out');
    const r = cli(
      '--json',
      'distort',
      '--method',
      'pixelate',
      '--strength',
      '8',
      '--data',
      data,
      '--out',
      out,
      '--quiet',
    );
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { images: number; written: number; config: { method: string } };
    expect(doc).toMatchObject({ images: 8, written: 8, config: { method: 'pixelate' } });
    // the release layout, as reconstruct writes it
    for (const f of ['images', 'manifest.jsonl', 'config.json'])
      expect(fs.existsSync(path.join(out, f))).toBe(true);
    const again = cli('distort', '--method', 'pixelate', '--strength', '8', '--data', data, '--out', out);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/not empty: pass --resume/);
  });

  it('privacy refuses the IRM teacher as attacker, alone or among several, with a one-line message', () => {
    for (const attackers of [
      ['--attacker', 'faceplugin'],
      ['--attacker', 'mobileface,faceplugin'],
    ]) {
      const r = cli(
        'privacy',
        '--original',
        'assets/sample/deploy',
        '--protected',
        'assets/sample/deploy',
        ...attackers,
        '--irm-teacher',
        'faceplugin',
      );
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^facemae: error: the attacker \(faceplugin\) is the IRM teacher/);
      expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
    }
  });

  it('sweep names a bad config key', () => {
    const cfg = path.join(tmp(), 'bad.json');
    fs.writeFileSync(cfg, JSON.stringify({ train: 'a', deploy: 'b', maskRatio: 0.5 }));
    const r = cli('sweep', '--config', cfg, '--out', path.join(tmp(), 'run'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/unknown key "maskRatio" in .*bad\.json/);
  });
});
