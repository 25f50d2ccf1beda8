/** Output verbs never replace an existing file silently (issue 15). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/index.js';

const root = path.resolve(import.meta.dirname, '../..');
const cli = (...args: string[]) =>
  buildProgram()
    .exitOverride()
    .parseAsync(['node', 'facemae', '--quiet', ...args]);

describe('verify --roc', () => {
  it('refuses an existing file without --overwrite, before any embedding, and leaves it untouched', async () => {
    const roc = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-roc-')), 'roc.png');
    fs.writeFileSync(roc, 'an earlier figure');
    await expect(
      cli('verify', '--target', `lfw:${path.join(root, 'assets/sample/verify')}`, '--roc', roc),
    ).rejects.toThrow(`${roc} already exists: pass --overwrite to replace it`);
    expect(fs.readFileSync(roc, 'utf8')).toBe('an earlier figure');
  });
});
