/**
 * A minimal Python pickle reader and writer, for exactly what insightface's verification sets
 * (`lfw.bin`, `cfp_fp.bin`, `agedb_30.bin`, written by `pickle.dump((bins, issame_list), f)`)
 * contain: tuples, lists, bools, ints, floats, str, bytes (Python 3 `bytes`, Python 2 `str`,
 * protocol-2 `_codecs.encode`), and 1-D/N-D numpy arrays (`_reconstruct` + BUILD, and protocol 5
 * `_frombuffer`). Arbitrary classes are refused: nothing in a file can run code here.
 * Opcode semantics follow CPython's Lib/pickle.py and Lib/pickletools.py.
 */
import { FaceMaeError } from '../core/errors.js';

/** A numpy array: raw little-endian element bytes plus dtype string (e.g. 'u1', '<f4', '?'). */
export interface NdArray {
  kind: 'ndarray';
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

/** A tuple (kept apart from lists only so the writer can round-trip it). */
export interface PyTuple {
  kind: 'tuple';
  items: PyValue[];
}

export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PyValue[]
  | PyTuple
  | NdArray
  | Map<PyValue, PyValue>
  | PyGlobal
  | PyDtype;

interface PyGlobal {
  kind: 'global';
  name: string;
}
interface PyDtype {
  kind: 'dtype';
  name: string;
}

const MARK = Symbol('mark');
type StackItem = PyValue | typeof MARK;

const RECONSTRUCT = new Set(['numpy.core.multiarray._reconstruct', 'numpy._core.multiarray._reconstruct']);
const FROMBUFFER = new Set(['numpy.core.numeric._frombuffer', 'numpy._core.numeric._frombuffer']);
const SCALAR = new Set(['numpy.core.multiarray.scalar', 'numpy._core.multiarray.scalar']);
const ALLOWED = new Set([
  ...RECONSTRUCT,
  ...FROMBUFFER,
  ...SCALAR,
  'numpy.ndarray',
  'numpy.dtype',
  '_codecs.encode',
  '__builtin__.bytearray',
  'builtins.bytearray',
  '__builtin__.set',
  'builtins.set',
]);

const isTuple = (v: unknown): v is PyTuple =>
  typeof v === 'object' && v !== null && (v as PyTuple).kind === 'tuple';
const itemsOf = (v: PyValue): PyValue[] | undefined =>
  Array.isArray(v) ? v : isTuple(v) ? v.items : undefined;

/**
 * Parses one pickle. `source` names the file in errors. Truncation is reported with the byte offset;
 * unsupported content names the opcode or Python global.
 */
export function readPickle(buf: Uint8Array, source: string): PyValue {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const latin1 = new TextDecoder('latin1');
  const utf8 = new TextDecoder('utf-8');
  let pos = 0;
  let opPos = 0;
  let op = 0;
  const stack: StackItem[] = [];
  const memo = new Map<number, PyValue>();

  const truncated = (need: number): never => {
    throw new FaceMaeError(
      `${source} is truncated or not a pickle: opcode 0x${op.toString(16)} at byte ${opPos} needs ${need} byte(s), only ${buf.length - pos} remain; re-download or re-create the file`,
      'E_TRUNCATED',
    );
  };
  const take = (n: number): Uint8Array => {
    if (pos + n > buf.length) truncated(n);
    const out = buf.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const u8 = () => take(1)[0] as number;
  const u16 = () => (take(2), view.getUint16(pos - 2, true));
  const u32 = () => (take(4), view.getUint32(pos - 4, true));
  const i32 = () => (take(4), view.getInt32(pos - 4, true));
  const u64 = () => {
    take(8);
    const v = view.getBigUint64(pos - 8, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) truncated(Number.MAX_SAFE_INTEGER);
    return Number(v);
  };
  const line = (): string => {
    const end = buf.indexOf(0x0a, pos);
    if (end < 0) truncated(1);
    const s = latin1.decode(buf.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const bad = (what: string): never => {
    throw new FaceMaeError(
      `${source}: unsupported pickle content (${what}) at byte ${opPos}; expected an insightface verification set: (list of encoded images, list of bool)`,
      'E_PICKLE',
    );
  };
  const pop = (): PyValue => {
    const v = stack.pop();
    if (v === undefined || v === MARK) bad(`stack underflow at opcode 0x${op.toString(16)}`);
    return v as PyValue;
  };
  const top = (): PyValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) bad('empty stack');
    return v as PyValue;
  };
  const popMark = (): PyValue[] => {
    const k = stack.lastIndexOf(MARK);
    if (k < 0) bad('no MARK');
    const items = stack.splice(k) as PyValue[];
    items.shift();
    return items;
  };
  const pushGlobal = (module: string, name: string) => {
    const full = `${module}.${name}`;
    if (!ALLOWED.has(full)) bad(`Python global ${full}`);
    stack.push({ kind: 'global', name: full });
  };
  const toBytes = (v: PyValue): Uint8Array => {
    if (v instanceof Uint8Array) return v;
    if (typeof v === 'string') return Uint8Array.from(v, (c) => c.charCodeAt(0) & 0xff);
    return bad('expected bytes');
  };
  const call = (fn: PyValue, args: PyValue[]): PyValue => {
    const name =
      typeof fn === 'object' && fn !== null && (fn as PyGlobal).kind === 'global'
        ? (fn as PyGlobal).name
        : '';
    if (RECONSTRUCT.has(name)) return { kind: 'ndarray', dtype: 'u1', shape: [0], data: new Uint8Array(0) };
    if (name === 'numpy.dtype') {
      const d = args[0];
      if (typeof d !== 'string') bad('numpy.dtype without a name');
      return { kind: 'dtype', name: d as string };
    }
    if (FROMBUFFER.has(name)) {
      const [b, dt, shape] = args;
      const dims = itemsOf(shape ?? null);
      return {
        kind: 'ndarray',
        dtype: dtypeName(dt),
        shape: (dims ?? []).map(Number),
        data: toBytes(b ?? null),
      };
    }
    if (SCALAR.has(name)) {
      const [dt, b] = args;
      const data = toBytes(b ?? null);
      const d = dtypeName(dt);
      if (d === '?' || d === 'b1') return data[0] !== 0;
      if (d === 'u1' || d === '|u1') return data[0] ?? 0;
      return { kind: 'ndarray', dtype: d, shape: [], data };
    }
    if (name === '_codecs.encode') return toBytes(args[0] ?? null);
    if (name.endsWith('.bytearray')) return args.length ? toBytes(args[0] ?? null) : new Uint8Array(0);
    if (name.endsWith('.set')) return itemsOf(args[0] ?? null) ?? [];
    return bad(`call of ${name || 'a non-global'}`);
  };
  const dtypeName = (v: PyValue | undefined): string => {
    if (typeof v === 'object' && v !== null && (v as PyDtype).kind === 'dtype') return (v as PyDtype).name;
    return bad('expected a numpy dtype');
  };

  for (;;) {
    opPos = pos;
    if (pos >= buf.length) {
      op = 0;
      throw new FaceMaeError(
        `${source} is truncated: the pickle ends at byte ${buf.length} without its STOP opcode; re-download or re-create the file`,
        'E_TRUNCATED',
      );
    }
    op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) bad('pickle protocol > 5');
        break;
      case 0x95: // FRAME: a length prefix only; the opcodes follow inline
        u64();
        break;
      case 0x2e: // STOP
        return pop();
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push({ kind: 'tuple', items: [] });
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x8f: // EMPTY_SET
        stack.push([]);
        break;
      case 0x74: // TUPLE
        stack.push({ kind: 'tuple', items: popMark() });
        break;
      case 0x85: // TUPLE1
        stack.push({ kind: 'tuple', items: [pop()] });
        break;
      case 0x86: {
        const b = pop();
        stack.push({ kind: 'tuple', items: [pop(), b] });
        break;
      }
      case 0x87: {
        const c = pop();
        const b = pop();
        stack.push({ kind: 'tuple', items: [pop(), b, c] });
        break;
      }
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x61: {
        // APPEND
        const v = pop();
        const l = top();
        if (!Array.isArray(l)) bad('APPEND to a non-list');
        (l as PyValue[]).push(v);
        break;
      }
      case 0x65: // APPENDS
      case 0x90: {
        // ADDITEMS (set)
        const items = popMark();
        const l = top();
        if (!Array.isArray(l)) bad('APPENDS to a non-list');
        for (const v of items) (l as PyValue[]).push(v);
        break;
      }
      case 0x91: // FROZENSET
        stack.push(popMark());
        break;
      case 0x64: {
        // DICT
        const items = popMark();
        const m = new Map<PyValue, PyValue>();
        for (let i = 0; i + 1 < items.length; i += 2) m.set(items[i] as PyValue, items[i + 1] as PyValue);
        stack.push(m);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        const m = top();
        if (!(m instanceof Map)) bad('SETITEM on a non-dict');
        (m as Map<PyValue, PyValue>).set(k, v);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        const m = top();
        if (!(m instanceof Map)) bad('SETITEMS on a non-dict');
        for (let i = 0; i + 1 < items.length; i += 2)
          (m as Map<PyValue, PyValue>).set(items[i] as PyValue, items[i + 1] as PyValue);
        break;
      }
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
      case 0x8b: {
        // LONG4
        const n = op === 0x8a ? u8() : u32();
        const b = take(n);
        // One hex parse, linear in n (shift-and-or per byte is quadratic: a crafted 1 MB LONG4 took minutes).
        let v = n > 0 ? BigInt('0x' + Buffer.from(b).reverse().toString('hex')) : 0n;
        if (n > 0 && ((b[n - 1] as number) & 0x80) !== 0) v -= 1n << BigInt(8 * n);
        stack.push(
          v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v,
        );
        break;
      }
      case 0x47: // BINFLOAT (big-endian float64)
        take(8);
        stack.push(view.getFloat64(pos - 8, false));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()));
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()));
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        stack.push(take(u64()));
        break;
      case 0x55: // SHORT_BINSTRING (Python 2 str = bytes, read as with encoding='bytes')
        stack.push(take(u8()));
        break;
      case 0x54: // BINSTRING
        stack.push(take(i32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(utf8.decode(take(u8())));
        break;
      case 0x58: // BINUNICODE
        stack.push(utf8.decode(take(u32())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(utf8.decode(take(u64())));
        break;
      case 0x98: // READONLY_BUFFER
        break;
      case 0x97: // NEXT_BUFFER
        bad('out-of-band buffer');
        break;
      case 0x63: {
        // GLOBAL
        const module = line();
        pushGlobal(module, line());
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof name !== 'string' || typeof module !== 'string') bad('STACK_GLOBAL without names');
        pushGlobal(module as string, name as string);
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        stack.push(call(fn, itemsOf(args) ?? bad('REDUCE arguments are not a tuple')));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        const cls = pop();
        stack.push(call(cls, itemsOf(args) ?? []));
        break;
      }
      case 0x62: {
        // BUILD: ndarray.__setstate__((version, shape, dtype, is_fortran, rawdata))
        const state = pop();
        const obj = top();
        const s = itemsOf(state);
        if (typeof obj === 'object' && obj !== null && (obj as PyDtype).kind === 'dtype') break; // byte order etc.
        if (typeof obj !== 'object' || obj === null || (obj as NdArray).kind !== 'ndarray' || !s)
          bad('BUILD of a non-array');
        const [, shape, dt, fortran, raw] = s!.length === 5 ? s! : [0, ...s!];
        const arr = obj as NdArray;
        arr.shape = (itemsOf(shape ?? null) ?? []).map(Number);
        arr.dtype = dtypeName(dt);
        if (fortran === true && arr.shape.length > 1) bad('Fortran-ordered array');
        arr.data = toBytes(raw ?? null);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) bad(`memo key ${k} missing`);
        stack.push(memo.get(k) as PyValue);
        break;
      }
      case 0x30: // POP
        stack.pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      default:
        bad(`opcode 0x${op.toString(16)}`);
    }
  }
}

/** Options for `writePickle`. */
export interface WritePickleOptions {
  /** How Uint8Array values are written: plain `bytes` (default) or numpy uint8 arrays, as small_lfw.bin. */
  bytesAs?: 'bytes' | 'ndarray';
}

/**
 * Serialises lists, tuples, bools, ints, floats, str, null and bytes as a protocol-3 pickle that
 * CPython's `pickle.load` reads (no memo, no frames: both optional).
 */
export function writePickle(value: PyValue, opts: WritePickleOptions = {}): Uint8Array {
  const chunks: Uint8Array[] = [];
  const enc = new TextEncoder();
  const byte = (...b: number[]) => chunks.push(Uint8Array.from(b));
  const u32 = (n: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n, true);
    chunks.push(b);
  };
  const str = (s: string) => {
    const b = enc.encode(s);
    byte(0x58);
    u32(b.length);
    chunks.push(b);
  };
  const bytes = (b: Uint8Array) => {
    if (b.length < 256) byte(0x43, b.length);
    else if (b.length < 2 ** 32) {
      byte(0x42);
      u32(b.length);
    } else throw new FaceMaeError('writePickle: bytes object over 4 GiB');
    chunks.push(b);
  };
  const ndarray = (b: Uint8Array) => {
    // numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b'b') then BUILD (1, (n,), dtype('u1'), False, data)
    byte(0x63);
    chunks.push(enc.encode('numpy.core.multiarray\n_reconstruct\n'));
    byte(0x63);
    chunks.push(enc.encode('numpy\nndarray\n'));
    byte(0x4b, 0, 0x85, 0x43, 1, 0x62, 0x87, 0x52);
    byte(0x28, 0x4b, 1);
    write(b.length);
    byte(0x85);
    byte(0x63);
    chunks.push(enc.encode('numpy\ndtype\n'));
    str('u1');
    byte(0x89, 0x88, 0x87, 0x52);
    byte(0x28, 0x4b, 3);
    str('|');
    byte(0x4e, 0x4e, 0x4e, 0x4a, 0xff, 0xff, 0xff, 0xff, 0x4a, 0xff, 0xff, 0xff, 0xff, 0x4b, 0, 0x74, 0x62);
    byte(0x89);
    bytes(b);
    byte(0x74, 0x62);
  };
  const write = (v: PyValue): void => {
    if (v === null) byte(0x4e);
    else if (v === true) byte(0x88);
    else if (v === false) byte(0x89);
    else if (typeof v === 'number') {
      if (Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31) {
        if (v >= 0 && v < 256) byte(0x4b, v);
        else if (v >= 0 && v < 65536) byte(0x4d, v & 255, v >> 8);
        else {
          byte(0x4a);
          const b = new Uint8Array(4);
          new DataView(b.buffer).setInt32(0, v, true);
          chunks.push(b);
        }
      } else {
        const b = new Uint8Array(9);
        b[0] = 0x47;
        new DataView(b.buffer).setFloat64(1, v, false);
        chunks.push(b);
      }
    } else if (typeof v === 'string') str(v);
    else if (v instanceof Uint8Array) (opts.bytesAs === 'ndarray' ? ndarray : bytes)(v);
    else if (Array.isArray(v)) {
      byte(0x5d);
      // APPENDS in batches of 1000, as CPython does
      for (let i = 0; i < v.length; i += 1000) {
        byte(0x28);
        for (const x of v.slice(i, i + 1000)) write(x);
        byte(0x65);
      }
    } else if (isTuple(v)) {
      byte(0x28);
      for (const x of v.items) write(x);
      byte(0x74);
    } else
      throw new FaceMaeError(
        `writePickle: cannot write a value of kind ${typeof v === 'object' ? (v as { kind?: string }).kind : typeof v}`,
      );
  };
  byte(0x80, 3);
  write(value);
  byte(0x2e);
  const total = chunks.reduce((s, c) => s + c.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}
