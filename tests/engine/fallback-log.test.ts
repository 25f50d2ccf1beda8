import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('no native BLAS', () => {
  it('falls back to the wasm/JS kernels with one stderr line saying how to install OpenBLAS', () => {
    const script = [
      "import { initEngine, tf } from './src/engine/index.js';",
      'const a = await initEngine();',
      'const b = await initEngine();',
      'const y = tf.matMul(tf.ones([3, 4]), tf.ones([5, 4]), false, true);',
      'console.log(JSON.stringify({ blas: a.blas, same: a === b, sum: tf.sum(y).dataSync()[0] }));',
    ].join('\n');
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, FACEMAE_BLAS_LIB: '/nonexistent/libopenblas.so.0' },
    });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as {
      blas: string | null;
      same: boolean;
      sum: number;
    };
    expect(out).toEqual({ blas: null, same: true, sum: 60 });
    const lines = r.stderr.split('\n').filter((l) => l.includes('facemae:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('FACEMAE_BLAS_LIB=/nonexistent/libopenblas.so.0 could not be loaded');
    expect(lines[0]).toContain('point FACEMAE_BLAS_LIB at a CBLAS library that exists');
    expect(lines[0]).toContain('apt-get install libopenblas0-pthread');
  });
});
