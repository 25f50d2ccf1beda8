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

/**
 * Output-folder guard: refuses to write into a non-empty folder unless `resume` (continue what
 * is there) or `overwrite` (the user asked to replace it) is set. Never deletes anything itself.
 */
export function prepareOutDir(dir: string, opts: { resume?: boolean; overwrite?: boolean } = {}): void {
  if (fs.existsSync(dir)) {
    if (!fs.statSync(dir).isDirectory())
      throw new FaceMaeError(`output ${dir} exists and is not a folder`, 'E_OUT_EXISTS');
    const entries = fs.readdirSync(dir);
    if (entries.length > 0 && !opts.resume && !opts.overwrite) {
      throw new FaceMaeError(
        `output folder ${dir} is not empty: pass --resume to continue it or --overwrite to write over it`,
        'E_OUT_EXISTS',
      );
    }
  }
  fs.mkdirSync(dir, { recursive: true });
}
