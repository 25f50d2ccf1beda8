/**
 * The one guard of every verb that writes a dataset folder (distort, reconstruct, align,
 * pack --unpack, a queued run's producer): the output never shares a folder with its inputs
 * (compared by real path, so a symlink or `..` cannot disguise it), holds no symlink that a
 * write could follow out of it, and belongs to one run at a time (a lock file created with
 * O_EXCL, naming its holder).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FaceMaeError } from './errors.js';
import { OUT_LOCK_NAME, prepareOutDir, processAlive } from './fs.js';

/**
 * The real path `p` has or would have: symlinks of its nearest existing ancestor resolved, the
 * parts that do not exist yet appended.
 */
export function realPathOf(p: string): string {
  let head = path.resolve(p);
  const tail: string[] = [];
  for (;;) {
    try {
      return path.join(fs.realpathSync(head), ...tail);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
      const parent = path.dirname(head);
      if (parent === head) return path.join(head, ...tail);
      tail.unshift(path.basename(head));
      head = parent;
    }
  }
}

const within = (child: string, parent: string) =>
  child.startsWith(parent.endsWith(path.sep) ? parent : parent + path.sep);

/** A folder or file a verb reads, named as its flag is (`data`, `model`). */
export interface GuardedInput {
  key: string;
  path: string;
  /** The output may be a sub-folder of this input (a model folder: its files are never written). */
  outMayBeInside?: boolean;
}

/**
 * Refuses an output that is an input, lies inside one, or holds one: a write there would replace
 * originals (or a later --overwrite would). Paths are compared after resolving symlinks.
 */
export function checkOutSeparate(out: string, inputs: readonly GuardedInput[]): void {
  const rOut = realPathOf(out);
  for (const input of inputs) {
    const rIn = realPathOf(input.path);
    const real = `real paths ${rOut} and ${rIn}`;
    let why: string | undefined;
    if (rOut === rIn) why = `is the same folder as ${input.key} ${input.path}`;
    else if (within(rOut, rIn) && !input.outMayBeInside) why = `is inside ${input.key} ${input.path}`;
    else if (within(rIn, rOut)) why = `holds ${input.key} ${input.path}`;
    if (why) {
      throw new FaceMaeError(
        `out ${out} ${why} (${real}): writing there could replace the originals; choose an output folder outside it`,
        'E_OUT_OVERLAPS',
        { key: 'out' },
      );
    }
  }
}

/** The first symlink under `dir` (any depth), or undefined. Symlinked folders are not entered. */
export function findSymlinkUnder(dir: string): string | undefined {
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop() as string;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isSymbolicLink()) return p;
      if (e.isDirectory()) stack.push(p);
    }
  }
  return undefined;
}

interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
  command: string;
}

const describeHolder = (h: LockHolder) =>
  `facemae ${h.command} (pid ${h.pid} on ${h.host}, since ${h.startedAt})`;

function readHolder(file: string): LockHolder | undefined {
  try {
    const h = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<LockHolder>;
    if (typeof h.pid === 'number' && typeof h.host === 'string') {
      return {
        pid: h.pid,
        host: h.host,
        startedAt: String(h.startedAt ?? '?'),
        command: String(h.command ?? '?'),
      };
    }
  } catch {
    // missing, empty (its writer is between open and write) or not ours: not known to be stale
  }
  return undefined;
}

/**
 * A run's hold on its output folder. release() removes the lock file if it is still this run's;
 * with `failed`, a folder this run created and left empty is removed too.
 */
export interface OutLock {
  file: string | undefined;
  release(opts?: { failed?: boolean }): void;
}

/**
 * Takes `<dir>/.facemae.lock` (created with O_EXCL, so exactly one of two racing runs gets it),
 * holding pid, host and start time. A lock whose holder is a dead process on this host is taken
 * over with a warning; any other holder is named in the refusal.
 */
export function lockOutDir(dir: string, opts: { command: string; onWarning?: (m: string) => void }): OutLock {
  const file = path.join(dir, OUT_LOCK_NAME);
  const me: LockHolder = {
    pid: process.pid,
    host: os.hostname(),
    startedAt: new Date().toISOString(),
    command: opts.command,
  };
  const token = JSON.stringify(me) + '\n';
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx');
      try {
        fs.writeSync(fd, token);
      } finally {
        fs.closeSync(fd);
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const h = readHolder(file);
    if (attempt === 0 && h && h.host === me.host && !processAlive(h.pid)) {
      opts.onWarning?.(`taking over the lock of ${describeHolder(h)} on ${dir}: that process is gone`);
      fs.rmSync(file, { force: true });
      continue;
    }
    throw new FaceMaeError(
      `output folder ${dir} is in use by ${h ? describeHolder(h) : 'another run'} (lock file ${file}): wait for it to finish, or stop it; if that run is gone (e.g. its machine crashed), delete ${file}`,
      'E_OUT_LOCKED',
    );
  }
  return {
    file,
    release() {
      try {
        if (fs.readFileSync(file, 'utf8') === token) fs.rmSync(file, { force: true });
      } catch {
        // already gone (e.g. --overwrite of a parent removed it): nothing to release
      }
    },
  };
}

export interface GuardOutOptions {
  /** What the verb reads; the output may neither be, lie in, nor hold any of them. */
  inputs: readonly GuardedInput[];
  /** The verb, named to a second run that finds the folder locked. */
  command: string;
  resume?: boolean;
  overwrite?: boolean;
  /**
   * false: the caller already holds the output (a queue worker runs under its producer's lock and
   * symlink check); only the path checks are made. Default true.
   */
  lock?: boolean;
  onWarning?: (m: string) => void;
}

/**
 * Everything a dataset-writing verb checks before its first write: inputs kept apart, the
 * non-empty rule (prepareOutDir), no symlink inside, the lock. Call release() when the run ends.
 */
export function guardOutDir(out: string, opts: GuardOutOptions): OutLock {
  checkOutSeparate(out, opts.inputs);
  if (opts.lock === false) {
    prepareOutDir(out, { resume: opts.resume, overwrite: opts.overwrite });
    return { file: undefined, release() {} };
  }
  if (fs.existsSync(out) && !fs.statSync(out).isDirectory())
    throw new FaceMaeError(`output ${out} exists and is not a folder`, 'E_OUT_EXISTS');
  const existed = fs.existsSync(out);
  // The lock comes first, so a second run is told who holds the folder, not that it is not empty.
  fs.mkdirSync(out, { recursive: true });
  const held = lockOutDir(out, { command: opts.command, onWarning: opts.onWarning });
  const lock: OutLock = {
    file: held.file,
    release(r) {
      held.release();
      if (r?.failed && !existed) {
        try {
          fs.rmdirSync(out); // only when empty: a failed run leaves no empty folder behind
        } catch {
          // it holds something (a saved config, finished images): keep it
        }
      }
    },
  };
  try {
    prepareOutDir(out, { resume: opts.resume, overwrite: opts.overwrite });
    const link = existed ? findSymlinkUnder(out) : undefined;
    if (link !== undefined) {
      throw new FaceMaeError(
        `output folder ${out} holds a symbolic link, ${link} -> ${fs.readlinkSync(link)}: a write through it would land outside the output; remove it or choose another folder`,
        'E_OUT_SYMLINK',
      );
    }
  } catch (e) {
    lock.release({ failed: true });
    throw e;
  }
  return lock;
}

/** Runs `fn` holding `lock` and releases it after; a failure also removes a folder left empty. */
export async function withOutLock<T>(lock: OutLock, fn: () => Promise<T>): Promise<T> {
  let r: T;
  try {
    r = await fn();
  } catch (e) {
    lock.release({ failed: true });
    throw e;
  }
  lock.release();
  return r;
}
