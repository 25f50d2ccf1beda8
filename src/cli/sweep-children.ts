/**
 * `facemae sweep --jobs N`: each heavy step runs as `facemae sweep --only ID` in a child process
 * (same CLI entry and Node flags, so it also works under tsx) with cores/N BLAS threads unless
 * FACEMAE_THREADS is set.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

/**
 * The sweep's `execute` for `jobs` children: runs a step of the sweep in `out` with the same
 * config file and `--set`s; its stderr lines go to `onLog` prefixed with the step id. Rejects
 * when the child exits non-zero.
 */
export function stepInChild(args: {
  configFile: string;
  set: readonly string[];
  jobs: number;
  onLog: (m: string) => void;
}): (stepId: string, out: string) => Promise<void> {
  const threads = Math.max(1, Math.floor(os.availableParallelism() / args.jobs));
  return (stepId, out) =>
    new Promise<void>((resolve, reject) => {
      const argv = [
        ...process.execArgv,
        process.argv[1]!,
        'sweep',
        '--config',
        path.resolve(args.configFile),
        '--out',
        out,
        '--only',
        stepId,
        ...args.set.flatMap((x) => ['--set', x]),
      ];
      const env = { ...process.env, FACEMAE_THREADS: process.env.FACEMAE_THREADS ?? String(threads) };
      // the IPC channel is only a lifeline: the child exits when it closes (./parent.ts)
      const child = spawn(process.execPath, argv, { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env });
      let last = '';
      let buf = '';
      const stderr = child.stderr!; // 'pipe' above (the 4-entry stdio loses the type)
      stderr.setEncoding('utf8');
      stderr.on('data', (chunk: string) => {
        buf += chunk;
        const lines = buf.split(/\r?\n|\r/);
        buf = lines.pop() ?? '';
        for (const l of lines)
          if (l.trim()) {
            last = l.trim();
            args.onLog(`[${stepId}] ${l}`);
          }
      });
      child.on('error', reject);
      child.on('close', (code) => {
        if (code === 0) resolve();
        else
          reject(
            new Error(`facemae sweep --only ${stepId} exited with code ${code}${last ? `: ${last}` : ''}`),
          );
      });
    });
}
