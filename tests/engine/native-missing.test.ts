import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('native kernels without a compiler', () => {
  it('the engine runs on the WebAssembly kernels, silently, and says why in initEngine()', () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-native-'));
    const script = [
      "import { initEngine, tf } from './src/engine/index.js';",
      'const info = await initEngine();',
      // an element-wise max, which the native library would otherwise run
      'const y = tf.maximum(tf.sub(tf.range(0, 8), 4), 0);',
      'console.log(JSON.stringify({ native: info.native, y: Array.from(y.dataSync()) }));',
    ].join('\n');
    try {
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: root,
        encoding: 'utf8',
        // an empty cache, and a compiler that does not exist
        env: { ...process.env, CC: '/nonexistent/cc', FACEMAE_CACHE_DIR: cache, FACEMAE_NATIVE: 'on' },
      });
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as {
        native: { off?: string; library?: string };
        y: number[];
      };
      expect(out.y).toEqual([0, 0, 0, 0, 0, 1, 2, 3]);
      expect(out.native.library).toBeUndefined();
      expect(out.native.off).toContain('/nonexistent/cc could not run');
      expect(r.stderr).not.toContain('native'); // silent: the engine works without them
      expect(fs.readdirSync(cache)).toEqual([]); // no half-written library left behind
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
    }
  });
});
