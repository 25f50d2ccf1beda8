/** Runs the `facemae` CLI from source (tsx) in the repository root; returns spawnSync's result. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

export const root = path.resolve(import.meta.dirname, '../..');

export const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/index.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
  });
