/**
 * Content fingerprints of models, for provenance and the attacker-independence check: two copies
 * of one network compare equal wherever they live, and a recorded hash still identifies a teacher
 * that was moved or deleted since.
 * - a file (FILE.onnx, 'faceplugin' = the bundled ONNX): SHA-256 of its bytes;
 * - a folder with a checkpoint (train-fr / train-mae run, compact export): SHA-256 over its weight
 *   tensors (name, dtype, shape, stored bytes), leaving out optimizer slots, step and metadata, so a
 *   copied run or the same weights re-saved without optimizer state still match;
 * - any other folder: SHA-256 over its files' relative names and contents.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FaceMaeError } from '../core/errors.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The bundled recognizer the spec 'faceplugin' names. */
export const FACEPLUGIN_ONNX = path.join(ROOT, 'assets/models/faceplugin/fr_feature.onnx');

const BYTES_PER: Record<string, number> = { float32: 4, float16: 2, int8: 1 };
/** Read as JSON here (not through train/checkpoint.ts) so fingerprinting needs no tensor engine. */
const CHECKPOINT_MANIFEST = 'checkpoint.json';

interface ManifestTensors {
  binary: string;
  tensors: { name: string; dtype: string; shape: number[]; offset: number; scaleOffset?: number }[];
}

function hashFile(h: crypto.Hash, file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
}

function checkpointWeightsHash(dir: string): string {
  const file = path.join(dir, CHECKPOINT_MANIFEST);
  let m: ManifestTensors;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8')) as ManifestTensors;
    if (typeof m.binary !== 'string' || !Array.isArray(m.tensors)) throw new Error('no binary/tensors');
  } catch (e) {
    throw new FaceMaeError(
      `cannot fingerprint ${dir}: ${file} is not a checkpoint manifest (${(e as Error).message})`,
      'E_BAD_CKPT',
    );
  }
  const bin = fs.readFileSync(path.join(dir, m.binary));
  const h = crypto.createHash('sha256');
  const entries = m.tensors.filter((e) => !e.name.startsWith('optim/'));
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const n = e.shape.reduce((a, b) => a * b, 1);
    h.update(`${e.name}|${e.dtype}|${e.shape.join('x')}|`);
    h.update(bin.subarray(e.offset, e.offset + n * (BYTES_PER[e.dtype] ?? 4)));
    if (e.dtype === 'int8' && e.scaleOffset !== undefined) {
      const last = e.shape.length > 1 ? (e.shape[e.shape.length - 1] as number) : 1;
      h.update(bin.subarray(e.scaleOffset, e.scaleOffset + 4 * last));
    }
  }
  return `weights:${h.digest('hex')}`;
}

function folderHash(dir: string): string {
  const h = crypto.createHash('sha256');
  const walk = (rel: string, depth: number) => {
    const entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory() && depth < 3) walk(r, depth + 1);
      else if (e.isFile()) {
        h.update(`${r}\0`);
        hashFile(h, path.join(dir, r));
      }
    }
  };
  walk('', 0);
  return `dir:${h.digest('hex')}`;
}

/**
 * The content fingerprint of a recognizer or MAE spec: 'faceplugin' | 'tfjs:X' (same network as X)
 * | FILE | RUN_DIR. A spec that names nothing on disk gives `spec:<name>` (compared by name only).
 */
export function modelFingerprint(spec: string): string {
  const bare = spec.replace(/^tfjs:/, '');
  if (/^(sha256|weights|dir):[0-9a-f]{64}$/.test(bare)) return bare; // already a recorded fingerprint
  const file = bare === 'faceplugin' ? FACEPLUGIN_ONNX : bare;
  if (!fs.existsSync(file)) return `spec:${bare}`;
  const st = fs.statSync(file);
  if (st.isFile()) {
    const h = crypto.createHash('sha256');
    hashFile(h, file);
    return `sha256:${h.digest('hex')}`;
  }
  if (fs.existsSync(path.join(file, CHECKPOINT_MANIFEST))) return checkpointWeightsHash(file);
  return folderHash(file);
}
