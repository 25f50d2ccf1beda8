/**
 * MXNet RecordIO (`train.rec` + `train.idx`), the container insightface ships CASIA-WebFace,
 * MS1M and Glint360K in. Layout follows dmlc-core `recordio.cc` and `mxnet/recordio.py`:
 * - record = magic 0xced7230a (u32 LE), lrecord (u32 LE: cflag in the top 3 bits, length in the
 *   low 29), the bytes, zero padding to a multiple of 4. A payload containing the magic at a
 *   4-aligned offset is split there into parts (cflag 1 start, 2 middle, 3 end; 0 = whole) and
 *   the magic is elided, re-inserted on read.
 * - .idx = text lines `key\toffset` (offset of the record's first magic).
 * - payload = IRHeader `<IfQQ` (flag u32, label f32, id u64, id2 u64; 24 bytes), then `flag`
 *   float32 labels when flag > 0 (label field then 0), then the encoded image.
 * insightface face sets (face2rec2.py, read by arcface_torch `dataset.py:MXFaceDataset`): record 0
 * has labels [N+1, N+1+K]: images are keys 1..N, keys N+1..N+K are identity records whose labels
 * [start, end) give each identity's image keys.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FaceMaeError } from '../core/errors.js';
import { checkSafeName, removeStaleTemps, resolveInside } from '../core/fs.js';
import { guardOutDir, withOutLock } from '../core/out-guard.js';
import type { OnProgress, FaceRecord, RgbImage } from '../types.js';
import {
  decodeImage,
  listImageFolder,
  type ImageFolder,
  type ReadImageOptions,
  type OnWarning,
} from './image-folder.js';
import type { FaceSource } from './face-source.js';

export const REC_MAGIC = 0xced7230a;
const MAGIC_BYTES = Uint8Array.of(0x0a, 0x23, 0xd7, 0xce);
const IR_SIZE = 24;
/** IRHeader plus one float label. */
const LABEL_HEAD = IR_SIZE + 4;
const MAX_PART = (1 << 29) - 1;

export interface IRHeader {
  flag: number;
  /** Scalar label (flag 0); 0 when `labels` is used. */
  label: number;
  id: number;
  id2: number;
}

export interface UnpackedRecord {
  header: IRHeader;
  /** `flag` float32 labels when flag > 0, else [header.label]. */
  labels: number[];
  /** The rest: the encoded image (empty for header records). */
  body: Uint8Array;
}

/** mx.recordio.pack: a number label gives flag 0; an array gives flag = length and label 0. */
export function packPayload(
  label: number | number[],
  id: number,
  body: Uint8Array = new Uint8Array(0),
  id2 = 0,
): Uint8Array {
  const arr = Array.isArray(label) ? label : null;
  const out = new Uint8Array(IR_SIZE + (arr ? arr.length * 4 : 0) + body.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, arr ? arr.length : 0, true);
  v.setFloat32(4, arr ? 0 : (label as number), true);
  v.setBigUint64(8, BigInt(id), true);
  v.setBigUint64(16, BigInt(id2), true);
  if (arr) arr.forEach((x, i) => v.setFloat32(IR_SIZE + 4 * i, x, true));
  out.set(body, IR_SIZE + (arr ? arr.length * 4 : 0));
  return out;
}

/** mx.recordio.unpack. `source` names the record in errors. */
export function unpackPayload(payload: Uint8Array, source: string): UnpackedRecord {
  if (payload.length < IR_SIZE) {
    throw new FaceMaeError(
      `${source}: record of ${payload.length} bytes is shorter than its 24-byte IRHeader; the .rec is corrupt`,
      'E_REC_FORMAT',
    );
  }
  const v = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const header: IRHeader = {
    flag: v.getUint32(0, true),
    label: v.getFloat32(4, true),
    id: Number(v.getBigUint64(8, true)),
    id2: Number(v.getBigUint64(16, true)),
  };
  const nl = header.flag;
  if (IR_SIZE + 4 * nl > payload.length) {
    throw new FaceMaeError(
      `${source}: IRHeader flag ${nl} announces more labels than the record holds; the .rec is corrupt`,
      'E_REC_FORMAT',
    );
  }
  const labels =
    nl > 0 ? Array.from({ length: nl }, (_, i) => v.getFloat32(IR_SIZE + 4 * i, true)) : [header.label];
  return { header, labels, body: payload.subarray(IR_SIZE + 4 * nl) };
}

/** The (first) label from a payload's first 28 bytes: label[0] when flag > 0, else the scalar label. */
function firstLabel(head: Uint8Array, source: string): number {
  if (head.length < LABEL_HEAD) return Math.round(unpackPayload(head, source).labels[0] ?? 0);
  const v = new DataView(head.buffer, head.byteOffset, head.byteLength);
  return Math.round(v.getUint32(0, true) > 0 ? v.getFloat32(IR_SIZE, true) : v.getFloat32(4, true));
}

/** Encodes one payload as RecordIO bytes (splitting at aligned magics, as dmlc-core does). */
export function encodeRecord(payload: Uint8Array): Uint8Array {
  if (payload.length > MAX_PART)
    throw new FaceMaeError(`record of ${payload.length} bytes exceeds RecordIO's 2^29-1 limit`);
  const parts: Uint8Array[] = [];
  const head = (cflag: number, len: number) => {
    const h = new Uint8Array(8);
    const v = new DataView(h.buffer);
    v.setUint32(0, REC_MAGIC, true);
    v.setUint32(4, ((cflag << 29) | len) >>> 0, true);
    parts.push(h);
  };
  let dptr = 0;
  const lower = payload.length & ~3;
  for (let i = 0; i < lower; i += 4) {
    if (
      payload[i] === 0x0a &&
      payload[i + 1] === 0x23 &&
      payload[i + 2] === 0xd7 &&
      payload[i + 3] === 0xce
    ) {
      head(dptr === 0 ? 1 : 2, i - dptr);
      parts.push(payload.subarray(dptr, i));
      dptr = i + 4;
    }
  }
  head(dptr !== 0 ? 3 : 0, payload.length - dptr);
  parts.push(payload.subarray(dptr));
  const pad = (4 - (payload.length % 4)) % 4;
  if (pad) parts.push(new Uint8Array(pad));
  return concat(parts);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** An open .rec with its index: keys in file order, and random access by key. */
export interface RecordFile {
  readonly file: string;
  /** Keys from the .idx (or 0..n-1 in file order when there is none). */
  readonly keys: number[];
  has(key: number): boolean;
  /** The payload of record `key` (parts joined). */
  read(key: number): Promise<Uint8Array>;
  /** At least the first `n` payload bytes of record `key` (the whole payload when shorter), cheaply. */
  readHead(key: number, n: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** Reads `key\toffset` lines. */
export function parseIdx(text: string, file: string): Map<number, number> {
  const map = new Map<number, number>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const t = raw.trim();
    if (!t) return;
    const m = /^(\d+)\s+(\d+)$/.exec(t);
    if (!m) throw new FaceMaeError(`${file}:${i + 1}: "${t}" is not "<key>\\t<offset>"`, 'E_REC_FORMAT');
    map.set(Number(m[1]), Number(m[2]));
  });
  return map;
}

/**
 * Opens `file.rec` with `idx` (default: the same path with .idx). Without an .idx the file is
 * scanned once and records are keyed 0..n-1 in file order.
 */
export async function openRecordFile(file: string, idx?: string): Promise<RecordFile> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, 'r');
  } catch (e) {
    throw new FaceMaeError(
      `cannot open RecordIO file ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
      'E_NOT_FOUND',
    );
  }
  const idxFile = idx ?? file.replace(/\.rec$/, '') + '.idx';
  let size = 0;
  const offsets = new Map<number, number>();
  // a bad .idx or a corrupt record found while indexing must not leave the handle open
  try {
    size = (await fh.stat()).size;
    if (fs.existsSync(idxFile)) {
      for (const [k, off] of parseIdx(await fs.promises.readFile(idxFile, 'utf8'), idxFile)) {
        if (off + 8 > size)
          throw new FaceMaeError(
            `${file} is truncated: ${idxFile} puts record ${k} at offset ${off}, but the file has only ${size} bytes; re-copy or re-pack it`,
            'E_TRUNCATED',
          );
        offsets.set(k, off);
      }
    } else {
      let off = 0;
      let k = 0;
      while (off < size) {
        offsets.set(k++, off);
        off = (await readParts(fh, file, off, size)).next;
      }
    }
  } catch (e) {
    await fh.close();
    throw e;
  }
  const keys = [...offsets.keys()];
  return {
    file,
    keys,
    has: (key) => offsets.has(key),
    async read(key) {
      const off = offsets.get(key);
      if (off === undefined)
        throw new FaceMaeError(`${file}: no record with key ${key} in ${idxFile}`, 'E_REC_FORMAT');
      return (await readParts(fh, file, off, size)).payload;
    },
    async readHead(key, n) {
      const off = offsets.get(key);
      if (off === undefined)
        throw new FaceMaeError(`${file}: no record with key ${key} in ${idxFile}`, 'E_REC_FORMAT');
      const h = Buffer.alloc(8 + n);
      const { bytesRead } = await fh.read(h, 0, 8 + n, off);
      const lrec = bytesRead >= 8 ? h.readUInt32LE(4) : 0;
      // a split record, or anything unusual, takes the careful path
      if (
        bytesRead < 8 + n ||
        h.readUInt32LE(0) !== REC_MAGIC ||
        lrec >>> 29 !== 0 ||
        (lrec & MAX_PART) < n
      ) {
        return (await readParts(fh, file, off, size)).payload;
      }
      return new Uint8Array(h.buffer, h.byteOffset + 8, n);
    },
    close: () => fh.close(),
  };
}

/** Reads the record starting at `off`: its parts joined (magics restored), and the next offset. */
async function readParts(
  fh: fs.promises.FileHandle,
  file: string,
  off: number,
  size: number,
): Promise<{ payload: Uint8Array; next: number }> {
  const parts: Uint8Array[] = [];
  let pos = off;
  for (;;) {
    if (pos + 8 > size) {
      throw new FaceMaeError(
        `${file} is truncated at offset ${pos}: the record starting at offset ${off} needs an 8-byte header, only ${size - pos} byte(s) remain; re-copy or re-pack it`,
        'E_TRUNCATED',
      );
    }
    const h = Buffer.alloc(8);
    await fh.read(h, 0, 8, pos);
    const magic = h.readUInt32LE(0);
    if (magic !== REC_MAGIC) {
      throw new FaceMaeError(
        `${file}: no RecordIO record at offset ${pos} (found 0x${magic.toString(16).padStart(8, '0')}, expected magic 0xced7230a); the .rec or its .idx is corrupt`,
        'E_REC_FORMAT',
      );
    }
    const lrec = h.readUInt32LE(4);
    const cflag = lrec >>> 29;
    const len = lrec & MAX_PART;
    const padded = (len + 3) & ~3;
    if (pos + 8 + len > size) {
      throw new FaceMaeError(
        `${file} is truncated at offset ${pos}: the record there needs ${len} bytes, only ${size - pos - 8} remain; re-copy or re-pack it`,
        'E_TRUNCATED',
      );
    }
    const body = Buffer.alloc(len);
    if (len > 0) await fh.read(body, 0, len, pos + 8);
    parts.push(body);
    pos += 8 + padded;
    if (cflag === 0 || cflag === 3) break;
    parts.push(MAGIC_BYTES);
  }
  return { payload: parts.length === 1 ? (parts[0] as Uint8Array) : concat(parts), next: pos };
}

/** Writes records to temp files; `commit()` renames them to PREFIX.rec / PREFIX.idx together. */
export interface RecordWriter {
  write(key: number, payload: Uint8Array): void;
  commit(): void;
  abort(): void;
}

/** Refuses existing outputs unless `overwrite`. Nothing is visible at PREFIX.* until commit. */
export function createRecordWriter(prefix: string, opts: { overwrite?: boolean } = {}): RecordWriter {
  const rec = `${prefix}.rec`;
  const idx = `${prefix}.idx`;
  for (const f of [rec, idx]) {
    if (fs.existsSync(f) && !opts.overwrite) {
      throw new FaceMaeError(
        `${f} already exists: pass --overwrite to replace it, or choose another --out`,
        'E_OUT_EXISTS',
      );
    }
  }
  fs.mkdirSync(path.dirname(rec), { recursive: true });
  // a writer killed mid-pack left PREFIX.rec.tmp-<pid>-…; nobody can resume it, so it goes
  removeStaleTemps([rec, idx, `${prefix}.names`]);
  const tag = `.tmp-${process.pid}-${Date.now()}`;
  const fd = fs.openSync(rec + tag, 'w');
  const lines: string[] = [];
  let offset = 0;
  let open = true;
  return {
    write(key, payload) {
      const bytes = encodeRecord(payload);
      fs.writeSync(fd, bytes);
      lines.push(`${key}\t${offset}\n`);
      offset += bytes.length;
    },
    commit() {
      fs.closeSync(fd);
      open = false;
      fs.writeFileSync(idx + tag, lines.join(''));
      fs.renameSync(rec + tag, rec);
      fs.renameSync(idx + tag, idx);
    },
    abort() {
      if (open) fs.closeSync(fd);
      open = false;
      fs.rmSync(rec + tag, { force: true });
      fs.rmSync(idx + tag, { force: true });
    },
  };
}

export interface PackOptions {
  overwrite?: boolean;
  /** Decode every image before packing so corrupt files are refused (default true). */
  verify?: boolean;
  onProgress?: OnProgress;
  onWarning?: OnWarning;
}

export interface PackResult {
  rec: string;
  idx: string;
  images: number;
  identities: number;
  bytes: number;
}

/**
 * Packs `<root>/<identity>/<image>` into PREFIX.rec/.idx in insightface's face layout (record 0
 * header, images 1..N with float labels, identity records). The encoded bytes are stored as they
 * are (no re-encoding); identity names go to PREFIX.names (one per line, label order).
 */
export async function packImageFolder(
  root: string | ImageFolder,
  prefix: string,
  opts: PackOptions = {},
): Promise<PackResult> {
  const folder = typeof root === 'string' ? await listImageFolder(root, { onWarning: opts.onWarning }) : root;
  const { records, identities } = folder;
  const writer = createRecordWriter(prefix, opts);
  const n = records.length;
  const k = identities.length;
  try {
    writer.write(0, packPayload([n + 1, n + 1 + k], 0));
    const ranges: [number, number][] = identities.map(() => [0, 0]);
    // Read and verify a window of images in parallel (sharp decodes on libuv threads), write in order.
    const WINDOW = 16;
    const load = async (r: FaceRecord): Promise<Uint8Array> => {
      let bytes: Buffer;
      try {
        bytes = await fs.promises.readFile(r.path);
      } catch (e) {
        throw new FaceMaeError(
          `cannot read image ${r.path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
          'E_NOT_FOUND',
        );
      }
      if (opts.verify ?? true) await decodeImage(bytes, r.path);
      return bytes;
    };
    for (let lo = 0; lo < n; lo += WINDOW) {
      const chunk = records.slice(lo, lo + WINDOW);
      const loaded = await Promise.all(chunk.map(load));
      chunk.forEach((r, j) => {
        const key = lo + j + 1;
        writer.write(key, packPayload(r.label, key, loaded[j]));
        const range = ranges[r.label] as [number, number];
        if (range[0] === 0) range[0] = key;
        range[1] = key + 1;
      });
      opts.onProgress?.(lo + chunk.length, n);
    }
    ranges.forEach((range, label) => writer.write(n + 1 + label, packPayload(range, n + 1 + label)));
    fs.writeFileSync(`${prefix}.names.tmp-${process.pid}`, identities.join('\n') + '\n');
    writer.commit();
    fs.renameSync(`${prefix}.names.tmp-${process.pid}`, `${prefix}.names`);
  } catch (e) {
    writer.abort();
    fs.rmSync(`${prefix}.names.tmp-${process.pid}`, { force: true });
    throw e;
  }
  return {
    rec: `${prefix}.rec`,
    idx: `${prefix}.idx`,
    images: n,
    identities: k,
    bytes: fs.statSync(`${prefix}.rec`).size,
  };
}

/** A .rec face set as a FaceSource, plus what its header said. */
export interface RecordIOSource extends FaceSource {
  /** Image keys in the .rec, in source order. */
  readonly keys: number[];
  /** True when record 0 is an insightface header (flag > 0). */
  readonly hasHeader: boolean;
  /** The encoded bytes of image i, as stored. */
  readEncoded(i: number): Promise<Uint8Array>;
}

/**
 * Opens a face .rec (path to .rec, or a prefix / folder holding train.rec). With an insightface
 * header (record 0 flag > 0) images are keys 1..label[0]-1 and labels come from the identity
 * records; otherwise every record is an image and labels are read from each header once.
 */
export async function openRecordIO(spec: string): Promise<RecordIOSource> {
  const rec = resolveRecPath(spec);
  const rf = await openRecordFile(rec);
  try {
    const h0 = rf.has(0) ? unpackPayload(await rf.read(0), `${rec}#0`) : undefined;
    let keys: number[];
    let labels: number[];
    const hasHeader = !!h0 && h0.header.flag > 0 && h0.labels.length >= 2 && h0.body.length === 0;
    if (hasHeader) {
      const [end, idEnd] = h0!.labels.map(Math.round) as [number, number];
      // The header's counts are checked against the records the file holds before anything is
      // allocated from them: a 40-byte file must not be able to claim 1e8 images.
      const held = rf.keys.length;
      if (!(Number.isSafeInteger(end) && end >= 1 && end <= held)) {
        throw new FaceMaeError(
          `${rec}#0: the header claims ${end - 1} images (keys 1..${end - 1}), but the file holds only ${held} record(s); the .rec is corrupt or truncated`,
          'E_REC_FORMAT',
        );
      }
      if (!(Number.isSafeInteger(idEnd) && idEnd >= end && idEnd - end <= held)) {
        throw new FaceMaeError(
          `${rec}#0: the header claims identity records ${end}..${idEnd - 1}, but the file holds only ${held} record(s); the .rec is corrupt or truncated`,
          'E_REC_FORMAT',
        );
      }
      keys = Array.from({ length: end - 1 }, (_, i) => i + 1);
      labels = new Array<number>(keys.length).fill(-1);
      if (idEnd > end) {
        for (let idk = end, label = 0; idk < idEnd; idk++, label++) {
          if (!rf.has(idk)) {
            throw new FaceMaeError(
              `${rec}: identity record ${idk} (of ${end}..${idEnd - 1} announced by record 0) is missing; the .rec or its .idx is incomplete: re-pack it`,
              'E_REC_FORMAT',
            );
          }
          const r = unpackPayload(await rf.read(idk), `${rec}#${idk}`);
          const [a, b] = r.labels.map(Math.round) as [number, number];
          if (!(r.labels.length >= 2 && a >= 1 && a <= b && b <= end)) {
            throw new FaceMaeError(
              `${rec}#${idk}: identity record gives image keys [${r.labels.slice(0, 2).join(', ')}), not a range inside 1..${end - 1}; the .rec is corrupt`,
              'E_REC_FORMAT',
            );
          }
          for (let key = a; key < b; key++) labels[key - 1] = label;
        }
        const missing = labels.indexOf(-1);
        if (missing >= 0) {
          throw new FaceMaeError(
            `${rec}: image ${keys[missing]} belongs to no identity record (records ${end}..${idEnd - 1} leave ${labels.filter((l) => l === -1).length} image(s) out); the .rec is incomplete: re-pack it`,
            'E_REC_FORMAT',
          );
        }
      } else {
        // A header without identity records (mxnet im2rec style): each image carries its label.
        for (let i = 0; i < keys.length; i++)
          labels[i] = firstLabel(await rf.readHead(keys[i]!, LABEL_HEAD), `${rec}#${keys[i]}`);
      }
    } else {
      keys = rf.keys;
      labels = [];
      // Only the IRHeader and first label are needed, not the image.
      for (const key of keys) labels.push(firstLabel(await rf.readHead(key, LABEL_HEAD), `${rec}#${key}`));
    }
    // Labels size the identity table: bounded so one hostile label cannot allocate gigabytes.
    const maxLabel = Math.max(labels.length, 1 << 20);
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i]!;
      if (!(Number.isInteger(l) && l >= 0 && l < maxLabel)) {
        throw new FaceMaeError(
          `${rec}#${keys[i]}: label ${l} is not an integer in [0, ${maxLabel}); the .rec is corrupt`,
          'E_REC_FORMAT',
        );
      }
    }
    const numLabels = labels.reduce((m, l) => Math.max(m, l + 1), 0);
    const namesFile = rec.replace(/\.rec$/, '') + '.names';
    const identities = fs.existsSync(namesFile)
      ? readNames(namesFile, numLabels)
      : Array.from({ length: numLabels }, (_, l) => String(l));
    const readEncoded = async (i: number) => {
      const key = keys[i];
      if (key === undefined) throw new RangeError(`image index ${i} out of range [0, ${keys.length})`);
      return unpackPayload(await rf.read(key), `${rec}#${key}`).body;
    };
    return {
      name: rec,
      length: keys.length,
      identities,
      keys,
      hasHeader,
      record(i) {
        const key = keys[i];
        if (key === undefined) throw new RangeError(`image index ${i} out of range [0, ${keys.length})`);
        const label = labels[i]!;
        return { path: `${rec}#${key}`, label, identity: identities[label] ?? String(label) };
      },
      readEncoded,
      async read(i, opts?: ReadImageOptions): Promise<RgbImage> {
        return decodeImage(await readEncoded(i), `${rec}#${keys[i]}`, opts);
      },
      close: () => rf.close(),
    };
  } catch (e) {
    await rf.close();
    throw e;
  }
}

/**
 * PREFIX.names: one identity per line in label order, exactly `numLabels` of them, each a plain
 * folder name (they become output folders when unpacking or reconstructing).
 */
function readNames(file: string, numLabels: number): string[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length !== numLabels) {
    throw new FaceMaeError(
      `${file} has ${lines.length} name(s), but the .rec has ${numLabels} identities; it belongs to another .rec: fix or remove it`,
      'E_REC_FORMAT',
    );
  }
  const seen = new Map<string, number>();
  return lines.map((raw, i) => {
    const name = checkSafeName(raw.replace(/\r$/, ''), `${file}:${i + 1}`);
    const dup = seen.get(name);
    if (dup !== undefined)
      throw new FaceMaeError(`${file}:${i + 1}: name "${name}" repeats line ${dup}`, 'E_REC_FORMAT');
    seen.set(name, i + 1);
    return name;
  });
}

/** 'x.rec' -> itself; a folder -> folder/train.rec; a prefix -> prefix.rec. */
export function resolveRecPath(spec: string): string {
  if (spec.endsWith('.rec')) return spec;
  if (fs.existsSync(spec) && fs.statSync(spec).isDirectory()) return path.join(spec, 'train.rec');
  return `${spec}.rec`;
}

/** Sniffs JPEG/PNG from the first bytes (for file extensions when unpacking). */
export function sniffImageExt(b: Uint8Array): 'jpg' | 'png' | 'bin' {
  if (b[0] === 0xff && b[1] === 0xd8) return 'jpg';
  if (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'png';
  return 'bin';
}

/**
 * Unpacks a face .rec to `<out>/<identity>/<key>.<jpg|png>` (bytes as stored). Identity folders
 * are the names from PREFIX.names when present, else zero-padded labels (so sorting keeps label order).
 * Refuses a non-empty `out` unless overwrite.
 */
export async function recordIoToFolder(
  spec: string,
  outDir: string,
  opts: { overwrite?: boolean; onProgress?: OnProgress } = {},
): Promise<{ images: number; identities: number; out: string }> {
  if (fs.existsSync(outDir) && fs.readdirSync(outDir).length > 0 && !opts.overwrite) {
    throw new FaceMaeError(
      `output folder ${outDir} is not empty: pass --overwrite to write into it, or choose another --out`,
      'E_OUT_EXISTS',
    );
  }
  const lock = guardOutDir(outDir, {
    inputs: [{ key: 'data', path: spec }],
    command: 'pack --unpack',
    overwrite: opts.overwrite,
  });
  return withOutLock(lock, async () => {
    const src = await openRecordIO(spec);
    try {
      const width = String(Math.max(0, src.identities.length - 1)).length;
      const dirName = (label: number) => {
        const name = src.identities[label] ?? String(label);
        return name === String(label) ? String(label).padStart(width, '0') : name;
      };
      for (let i = 0; i < src.length; i++) {
        const r = src.record(i);
        const bytes = await src.readEncoded(i);
        const file = resolveInside(
          outDir,
          path.join(dirName(r.label), `${src.keys[i]}.${sniffImageExt(bytes)}`),
          `${src.name}#${src.keys[i]}`,
        );
        await fs.promises.mkdir(path.dirname(file), { recursive: true });
        const tmp = `${file}.tmp-${process.pid}`;
        await fs.promises.writeFile(tmp, bytes);
        await fs.promises.rename(tmp, file);
        opts.onProgress?.(i + 1, src.length);
      }
      return { images: src.length, identities: src.identities.length, out: outDir };
    } finally {
      await src.close();
    }
  });
}
