/** Runs the `facemae` CLI in this process (the child-process form is ./cli.ts). */
import { vi } from 'vitest';
import { buildProgram } from '../../src/cli/index.js';

/** Runs `facemae ...args` and returns what it printed on stdout; a failure rejects with the error. */
export async function runInProcess(args: string[]): Promise<string> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    await buildProgram()
      .exitOverride()
      .parseAsync(['node', 'facemae', ...args]);
  } finally {
    spy.mockRestore();
  }
  return out;
}
