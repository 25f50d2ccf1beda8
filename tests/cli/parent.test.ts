import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const parentModule = path.join(root, 'src/cli/parent.ts');

/**
 * Starts a middle process that spawns a grandchild with an IPC channel (as `sweep --jobs` spawns
 * its steps); the grandchild runs `body` and reports 'ready'. Resolves with both pids once it did.
 */
function startFamily(body: string): Promise<{ middle: number; child: number; exits: Promise<string> }> {
  const childScript = `import { exitWithParent } from ${JSON.stringify(parentModule)};\n${body}\nprocess.send('ready');`;
  const middleScript = `
    const { spawn } = require('node:child_process');
    const c = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', ${JSON.stringify(childScript)}],
      { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    c.on('message', (m) => { if (m === 'ready') console.log('child ' + c.pid); });
    c.on('exit', (code) => console.log('exit ' + code));
    setInterval(() => {}, 1000);`;
  const middle = spawn(process.execPath, ['-e', middleScript], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const exits = new Promise<string>((resolve) => {
    middle.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /exit (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    middle.on('close', () => resolve('middle closed'));
  });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ready child; middle said: ${out}`)), 30_000);
    middle.stdout.on('data', () => {
      const m = /child (\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve({ middle: middle.pid!, child: Number(m[1]), exits });
      }
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100)))
    if (!alive(pid)) return true;
  return !alive(pid);
}

const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

describe('exitWithParent (the children of sweep --jobs)', () => {
  it('stops the child when its parent is SIGKILLed', async () => {
    const f = await startFamily('exitWithParent(); setInterval(() => {}, 1000);');
    started.push(f.child, f.middle);
    process.kill(f.middle, 'SIGKILL');
    expect(await waitGone(f.child, 10_000)).toBe(true);
  }, 60_000);

  it('without it, the same child outlives its killed parent (what the test guards against)', async () => {
    const f = await startFamily('setInterval(() => {}, 1000);');
    started.push(f.child, f.middle);
    process.kill(f.middle, 'SIGKILL');
    expect(await waitGone(f.child, 1_500)).toBe(false);
  }, 60_000);

  it('does not keep a finished child alive while the parent lives', async () => {
    const f = await startFamily('exitWithParent(); setTimeout(() => {}, 200);');
    started.push(f.child, f.middle);
    expect(await f.exits).toBe('0');
    expect(alive(f.middle)).toBe(true);
  }, 60_000);
});
