import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** initEngine()'s `native` in a child process whose kernel cache is `cache`. */
function engineNative(cache: string): { off?: string; library?: string } {
  const script = [
    "import { initEngine } from './src/engine/index.js';",
    'const info = await initEngine();',
    'console.log(JSON.stringify(info.native));',
  ].join('\n');
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, FACEMAE_CACHE_DIR: cache, FACEMAE_NATIVE: 'on' },
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { off?: string; library?: string };
}

describe.skipIf(typeof process.getuid !== 'function')('the native kernel cache', () => {
  it('is refused, and nothing in it loaded or written, when others can write the folder', () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-cache-'));
    try {
      fs.chmodSync(cache, 0o777);
      const native = engineNative(cache);
      expect(native.library).toBeUndefined();
      expect(native.off).toContain('is writable by others');
      expect(native.off).toContain(cache);
      expect(fs.readdirSync(cache)).toEqual([]);
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
    }
  });

  it('refuses a library file others can write, even in a private folder', () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-cache-'));
    try {
      // the first run compiles (or finds no compiler: then there is nothing to plant over)
      const first = engineNative(cache);
      const libs = fs.readdirSync(cache).filter((f) => f.startsWith('kernels-'));
      if (!first.library) return expect(libs).toEqual([]);
      expect(libs).toHaveLength(1);
      fs.chmodSync(path.join(cache, libs[0]!), 0o666);
      const native = engineNative(cache);
      expect(native.library).toBeUndefined();
      expect(native.off).toContain('is writable by others');
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
    }
  });
});
