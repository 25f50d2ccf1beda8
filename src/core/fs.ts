/** File helpers that never leave a half-written output behind. */
import fs from 'node:fs';
import path from 'node:path';
import { FaceMaeError } from './errors.js';

/** Writes via a temp file in the same folder plus rename, so readers see old or new, never partial. */
export function atomicWriteFileSync(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

export async function atomicWriteFile(file: string, data: string | Uint8Array): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}-${Math.floor(performance.now() * 1000)}`;
  try {
    await fs.promises.writeFile(tmp, data);
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
}

export function writeJsonAtomic(file: string, value: unknown): void {
  atomicWriteFileSync(file, JSON.stringify(value, null, 2) + '\n');
}

export function readJson<T = unknown>(file: string): T {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new FaceMaeError(
      `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
      'E_NOT_FOUND',
    );
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new FaceMaeError(`${file} is not valid JSON: ${(e as Error).message}`, 'E_BAD_JSON');
  }
}

/** Refuses an existing output file unless the user passed --overwrite (no silent overwrite). */
export function checkNoOverwrite(file: string, overwrite: boolean | undefined): void {
  if (fs.existsSync(file) && !overwrite) {
    throw new FaceMaeError(
      `${file} already exists: pass --overwrite to replace it, or choose another file`,
      'E_OUT_EXISTS',
    );
  }
}

/**
 * A name read from a file (an identity in a .names, a pairs.txt entry, a manifest path part) that
 * becomes one path component: refuses empty, `.`/`..`, separators, NUL and absolute paths, so a
 * hostile file cannot steer a write or read outside the folder it belongs in. `where` names the
 * record in the error (e.g. `train.names:3`).
 */
export function checkSafeName(name: string, where: string): string {
  if (
    name === '' ||
    name === '.' ||
    name === '..' ||
    /[/\\\0]/.test(name) ||
    path.isAbsolute(name) ||
    /^[A-Za-z]:/.test(name)
  ) {
    throw new FaceMaeError(
      `${where}: name ${JSON.stringify(name)} is not a plain file or folder name (no "..", "/", "\\", NUL or absolute paths); the file is corrupt or hostile`,
      'E_UNSAFE_NAME',
    );
  }
  return name;
}

/** `root/rel`, refusing any `rel` that would resolve outside `root` (defence in depth for writes). */
export function resolveInside(root: string, rel: string, where: string): string {
  const base = path.resolve(root);
  const full = path.resolve(base, rel);
  if (full !== base && !full.startsWith(base + path.sep)) {
    throw new FaceMaeError(
      `${where}: output path ${JSON.stringify(rel)} leaves the output folder ${root}; refusing to write it`,
      'E_UNSAFE_NAME',
    );
  }
  return full;
}

/**
 * Removes `<prefix>*.tmp-<pid>…` files left by a killed writer of `files` (this project's temp
 * naming, see atomicWriteFileSync), skipping those of a process that is still alive.
 */
export function removeStaleTemps(files: string[]): string[] {
  const removed: string[] = [];
  const byDir = new Map<string, string[]>();
  for (const f of files) {
    const d = path.dirname(f);
    byDir.set(d, [...(byDir.get(d) ?? []), path.basename(f)]);
  }
  for (const [dir, bases] of byDir) {
    if (!fs.existsSync(dir)) continue;
    for (const entry of fs.readdirSync(dir)) {
      const base = bases.find((b) => entry.startsWith(`${b}.tmp-`));
      if (!base) continue;
      const pid = Number(/^(\d+)/.exec(entry.slice(base.length + 5))?.[1]);
      if (Number.isInteger(pid) && pid !== process.pid && processAlive(pid)) continue;
      fs.rmSync(path.join(dir, entry), { force: true });
      removed.push(path.join(dir, entry));
    }
  }
  return removed;
}

/** True while process `pid` exists on this machine (EPERM: it exists but is another user's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The lock file a run holds in its output folder (see core/out-guard.ts); not part of the output. */
export const OUT_LOCK_NAME = '.facemae.lock';

/**
 * True for a folder whose only entry is the config.json a facemae command saved before failing
 * (no checkpoint, no outputs): nothing there is worth keeping, so a corrected re-run may start.
 */
function onlySavedConfig(dir: string, entries: string[]): boolean {
  if (entries.length !== 1 || entries[0] !== 'config.json') return false;
  try {
    const c = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    return typeof c.command === 'string' && typeof c.createdAt === 'string' && 'config' in c;
  } catch {
    return false;
  }
}

/**
 * Output-folder guard: refuses to write into a non-empty folder unless `resume` (continue what
 * is there) or `overwrite` (the user asked to replace it) is set. Never deletes anything itself.
 * A folder holding only the config.json of a run that failed before writing anything counts as empty.
 */
export function prepareOutDir(dir: string, opts: { resume?: boolean; overwrite?: boolean } = {}): void {
  if (fs.existsSync(dir)) {
    if (!fs.statSync(dir).isDirectory())
      throw new FaceMaeError(`output ${dir} exists and is not a folder`, 'E_OUT_EXISTS');
    const entries = fs.readdirSync(dir).filter((e) => e !== OUT_LOCK_NAME);
    if (entries.length > 0 && !opts.resume && !opts.overwrite && !onlySavedConfig(dir, entries)) {
      throw new FaceMaeError(
        `output folder ${dir} is not empty: pass --resume to continue it or --overwrite to write over it`,
        'E_OUT_EXISTS',
      );
    }
  }
  fs.mkdirSync(dir, { recursive: true });
}
