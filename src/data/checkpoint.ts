/**
 * Checkpoints: a JSON manifest (`checkpoint.json`) plus one binary file of float32 tensors
 * (`checkpoint-<step>.bin`). The binary is written first under a step-specific name, then the
 * manifest is atomically renamed into place; the manifest is the commit point, so a kill at any
 * moment leaves either the previous or the new checkpoint readable, never a half one. Older
 * binaries are removed after the manifest is committed.
 *
 * Contents: named weights, optimizer slots (prefixed `optim/`), step, Rng states, the resolved
 * config and free-form metadata (as facebookresearch/mae misc.save_model stores model,
 * optimizer, epoch, scaler and args).
 */
import fs from 'node:fs';
import path from 'node:path';
import { tf } from '../engine/backend.js';
import { FaceMaeError } from '../core/errors.js';
import { atomicWriteFile } from '../core/fs.js';
import type { RngState } from '../core/rng.js';
import { quantizeInt8 } from '../core/quantize.js';

/** The optimizers whose state a checkpoint stores (train/optimizer.ts). */
export type OptimizerKind = 'adamw' | 'sgd';

/** A saved optimizer state: slot tensors named `<param>/<slot>` (e.g. `enc/0/qkv/w/m`). */
export interface OptimizerState {
  kind: OptimizerKind;
  step: number;
  slots: Record<string, tf.Tensor>;
}

export const CHECKPOINT_MANIFEST = 'checkpoint.json';
const FORMAT = 'facemae-checkpoint-v1';

interface TensorEntry {
  name: string;
  shape: number[];
  /**
   * Stored dtype: float32, or float16 / int8 for compact exports (read back as float32). int8 is
   * symmetric with one float32 scale per index of the last axis (per output channel of a dense
   * weight), stored at `scaleOffset`.
   */
  dtype: 'float32' | 'float16' | 'int8';
  scaleOffset?: number;
  /** Byte offset in the binary file. */
  offset: number;
}

interface Manifest {
  format: string;
  step: number;
  createdAt: string;
  binary: string;
  bytes: number;
  tensors: TensorEntry[];
  optimizer?: { kind: OptimizerKind; step: number };
  rng?: Record<string, RngState>;
  config?: unknown;
  meta?: Record<string, unknown>;
}

export interface CheckpointData {
  step: number;
  /** Model weights by stable name. */
  weights: Record<string, tf.Tensor>;
  optimizer?: OptimizerState;
  /** Named Rng states (e.g. { data: ..., mask: ... }). */
  rng?: Record<string, RngState>;
  /** The resolved config of the run. */
  config?: unknown;
  meta?: Record<string, unknown>;
}

export interface SaveOptions {
  /** Store weights as float16 (half the size; optimizer state is never saved then). Default false. */
  half?: boolean;
  /** Store weights as int8 with per-channel scales (a quarter of the size; implies no optimizer state). */
  int8?: boolean;
  /** Keep older binaries (default false: only the committed one stays). */
  keepOld?: boolean;
}

function toHalf(f: number): number {
  // IEEE 754 float32 -> float16 bits, round to nearest even.
  const f32 = new Float32Array([f]);
  const x = new Uint32Array(f32.buffer)[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  let mant = x & 0x7fffff;
  if (((x >>> 23) & 0xff) === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  if (exp >= 31) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - exp;
    let h = mant >> shift;
    if ((mant >> (shift - 1)) & 1 && (mant & ((1 << (shift - 1)) - 1) || h & 1)) h += 1;
    return sign | h;
  }
  let h = (exp << 10) | (mant >> 13);
  if (mant & 0x1000 && (mant & 0xfff || h & 1)) h += 1;
  return sign | h;
}

function fromHalf(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Writes a checkpoint into `dir` (created if needed) atomically. Returns the manifest path. */
export async function saveCheckpoint(
  dir: string,
  data: CheckpointData,
  opts: SaveOptions = {},
): Promise<string> {
  const int8 = opts.int8 ?? false;
  const half = (opts.half ?? false) || int8;
  const all: [string, tf.Tensor][] = Object.entries(data.weights);
  if (data.optimizer && !half) {
    for (const [k, t] of Object.entries(data.optimizer.slots)) all.push([`optim/${k}`, t]);
  }
  const entries: TensorEntry[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of all) {
    const values = (await t.data()) as Float32Array;
    let bytes: Uint8Array;
    let scaleBytes: Uint8Array | undefined;
    if (int8 && !name.startsWith('optim/')) {
      const { q, scales } = quantizeInt8(values, t.shape);
      bytes = new Uint8Array(q.buffer);
      scaleBytes = new Uint8Array(scales.buffer);
    } else if (half && !name.startsWith('optim/')) {
      const h = new Uint16Array(values.length);
      for (let i = 0; i < values.length; i++) h[i] = toHalf(values[i] as number);
      bytes = new Uint8Array(h.buffer);
    } else {
      bytes = new Uint8Array(Float32Array.from(values).buffer);
    }
    const entry: TensorEntry = {
      name,
      shape: [...t.shape],
      dtype: int8 ? 'int8' : half ? 'float16' : 'float32',
      offset,
    };
    const push = (b: Uint8Array) => {
      chunks.push(b);
      offset += b.byteLength;
      // keep 4-byte alignment for float32 views
      const pad = (4 - (offset % 4)) % 4;
      if (pad) {
        chunks.push(new Uint8Array(pad));
        offset += pad;
      }
    };
    push(bytes);
    if (scaleBytes) {
      entry.scaleOffset = offset;
      push(scaleBytes);
    }
    entries.push(entry);
  }
  const blob = new Uint8Array(offset);
  let o = 0;
  for (const c of chunks) {
    blob.set(c, o);
    o += c.byteLength;
  }
  const binary = `checkpoint-${data.step}.bin`;
  await atomicWriteFile(path.join(dir, binary), blob);
  const manifest: Manifest = {
    format: FORMAT,
    step: data.step,
    createdAt: new Date().toISOString(),
    binary,
    bytes: offset,
    tensors: entries,
    ...(data.optimizer && !half
      ? { optimizer: { kind: data.optimizer.kind, step: data.optimizer.step } }
      : {}),
    ...(data.rng ? { rng: data.rng } : {}),
    ...(data.config !== undefined ? { config: data.config } : {}),
    ...(data.meta ? { meta: data.meta } : {}),
  };
  const file = path.join(dir, CHECKPOINT_MANIFEST);
  await atomicWriteFile(file, JSON.stringify(manifest, null, 1) + '\n');
  if (!opts.keepOld) {
    for (const f of fs.readdirSync(dir)) {
      if (/^checkpoint-\d+\.bin$/.test(f) && f !== binary) fs.rmSync(path.join(dir, f), { force: true });
    }
  }
  return file;
}

/** True when `dir` holds a committed checkpoint. */
export function hasCheckpoint(dir: string): boolean {
  return fs.existsSync(path.join(dir, CHECKPOINT_MANIFEST));
}

/** Reads only the manifest (step, config, meta) without loading tensors. */
export function readCheckpointInfo(dir: string): Omit<Manifest, 'tensors'> & { tensors: TensorEntry[] } {
  const file = path.join(dir, CHECKPOINT_MANIFEST);
  if (!fs.existsSync(file)) {
    throw new FaceMaeError(
      `no checkpoint in ${dir} (missing ${CHECKPOINT_MANIFEST}); train one with facemae train-mae`,
      'E_NO_CKPT',
    );
  }
  let m: Manifest;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
  } catch (e) {
    throw new FaceMaeError(
      `checkpoint manifest ${file} is not valid JSON: ${(e as Error).message}`,
      'E_BAD_CKPT',
    );
  }
  if (m.format !== FORMAT)
    throw new FaceMaeError(`${file} is not a FaceMAE checkpoint (format "${m.format}")`, 'E_BAD_CKPT');
  return m;
}

/** What wrote a run folder: `meta.kind` of its checkpoint. */
export type RunKind = 'facemae-mae' | 'facemae-fr';
const RUN_COMMAND: Record<RunKind, string> = { 'facemae-mae': 'train-mae', 'facemae-fr': 'train-fr' };

/**
 * The one check that `dir` is a run of `kind` (a train-mae/train-fr run folder, or a compact
 * export of one), used by everything that loads a run: its manifest, without the tensors. Errors
 * name the folder, what it is instead and what to give (`also`, e.g. ", 'faceplugin' or a .onnx
 * file"); `key` names the config key the folder came from (e.g. 'init').
 */
export function readRunInfo(
  dir: string,
  kind: RunKind,
  opts: { also?: string; key?: string } = {},
): ReturnType<typeof readCheckpointInfo> {
  const cmd = RUN_COMMAND[kind];
  const where = opts.key ? `${opts.key} ${dir}` : dir;
  const key = opts.key ? { key: opts.key } : {};
  if (!hasCheckpoint(dir)) {
    throw new FaceMaeError(
      `${where} holds no checkpoint (no ${CHECKPOINT_MANIFEST}): give a ${cmd} run folder${opts.also ?? ''}`,
      'E_NO_CKPT',
      key,
    );
  }
  const info = readCheckpointInfo(dir);
  const meta = (info.meta ?? {}) as { kind?: string; model?: unknown; backbone?: unknown };
  // compact MAE exports of early versions carry the model config but no kind
  const ok =
    kind === 'facemae-mae'
      ? Boolean(meta.model) && (meta.kind === undefined || meta.kind === kind)
      : meta.kind === kind && Boolean(meta.backbone);
  if (!ok) {
    throw new FaceMaeError(
      `${where} is not a ${cmd} run (checkpoint kind "${meta.kind ?? 'unknown'}")`,
      'E_BAD_CKPT',
      key,
    );
  }
  return info;
}

/** Loads a checkpoint; the returned tensors belong to the caller (dispose them). */
export function loadCheckpoint(dir: string): CheckpointData {
  const m = readCheckpointInfo(dir);
  const binFile = path.join(dir, m.binary);
  let buf: Buffer;
  try {
    buf = fs.readFileSync(binFile);
  } catch {
    throw new FaceMaeError(`checkpoint binary ${binFile} is missing`, 'E_BAD_CKPT');
  }
  if (buf.byteLength !== m.bytes) {
    throw new FaceMaeError(
      `checkpoint binary ${binFile} has ${buf.byteLength} bytes, expected ${m.bytes} (truncated?)`,
      'E_BAD_CKPT',
    );
  }
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const weights: Record<string, tf.Tensor> = {};
  const slots: Record<string, tf.Tensor> = {};
  for (const e of m.tensors) {
    const n = e.shape.reduce((a, b) => a * b, 1);
    let values: Float32Array;
    if (e.dtype === 'int8') {
      const last = e.shape.length > 1 ? (e.shape[e.shape.length - 1] as number) : 1;
      const q = new Int8Array(ab, e.offset, n);
      const scales = new Float32Array(ab, e.scaleOffset ?? 0, last);
      values = new Float32Array(n);
      for (let i = 0; i < n; i++) values[i] = (q[i] as number) * (scales[i % last] as number);
    } else if (e.dtype === 'float16') {
      const h = new Uint16Array(ab, e.offset, n);
      values = new Float32Array(n);
      for (let i = 0; i < n; i++) values[i] = fromHalf(h[i] as number);
    } else {
      values = new Float32Array(ab, e.offset, n).slice();
    }
    const t = tf.tensor(values, e.shape, 'float32');
    if (e.name.startsWith('optim/')) slots[e.name.slice('optim/'.length)] = t;
    else weights[e.name] = t;
  }
  return {
    step: m.step,
    weights,
    ...(m.optimizer ? { optimizer: { kind: m.optimizer.kind, step: m.optimizer.step, slots } } : {}),
    ...(m.rng ? { rng: m.rng } : {}),
    ...(m.config !== undefined ? { config: m.config } : {}),
    ...(m.meta ? { meta: m.meta } : {}),
  };
}

/** Assigns loaded weights to variables by name; every variable must be present with the same shape. */
export function assignWeights(
  vars: Record<string, tf.Variable>,
  weights: Record<string, tf.Tensor>,
  source = 'checkpoint',
): void {
  for (const [name, v] of Object.entries(vars)) {
    const w = weights[name];
    if (!w)
      throw new FaceMaeError(
        `${source} has no weight "${name}" (was it trained with a different model config?)`,
        'E_BAD_CKPT',
      );
    if (w.shape.join(',') !== v.shape.join(',')) {
      throw new FaceMaeError(
        `${source}: weight "${name}" has shape [${w.shape}] but the model expects [${v.shape}]`,
        'E_BAD_CKPT',
      );
    }
    v.assign(w);
  }
}

/** Disposes every tensor of a loaded checkpoint. */
export function disposeCheckpoint(data: CheckpointData): void {
  for (const t of Object.values(data.weights)) t.dispose();
  if (data.optimizer) for (const t of Object.values(data.optimizer.slots)) t.dispose();
}
