/**
 * The one source of randomness in the library: a seedable, serialisable generator
 * (xoshiro128**, seeded through splitmix32). Masking, shuffling, augmentation and
 * initialisation all take an `Rng` explicitly; library code never calls `Math.random`.
 */

export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
  /** Fisher–Yates shuffle in place; returns the same array. */
  shuffle<T>(items: T[]): T[];
  /** `n` uniform floats in [0, 1) as a Float32Array (e.g. MAE masking noise). */
  uniformArray(n: number): Float32Array;
  /** An independent generator derived from this one's seed and `label`, without advancing this one. */
  fork(label: string | number): Rng;
  /** The full state, so a resumed run continues the same stream. */
  getState(): RngState;
  setState(state: RngState): void;
}

export interface RngState {
  seed: number;
  s: [number, number, number, number];
  spare: number | null;
}

function splitmix32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x9e3779b9) >>> 0;
    let z = a;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function hashLabel(label: string | number): number {
  const s = String(label);
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Creates a generator; equal seeds give equal streams on every platform. */
export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new Error(`seed must be a finite number, got ${seed}`);
  const init = splitmix32(seed);
  let s: [number, number, number, number] = [init(), init(), init(), init()];
  let spare: number | null = null;
  const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] = (s[2] ^ s[0]) >>> 0;
    s[3] = (s[3] ^ s[1]) >>> 0;
    s[1] = (s[1] ^ s[2]) >>> 0;
    s[0] = (s[0] ^ s[3]) >>> 0;
    s[2] = (s[2] ^ t) >>> 0;
    s[3] = rotl(s[3], 11);
    return result;
  };

  const rng: Rng = {
    next: () => nextU32() / 4294967296,
    int(n) {
      if (!(n > 0) || !Number.isInteger(n)) throw new Error(`Rng.int needs a positive integer, got ${n}`);
      return Math.floor(rng.next() * n);
    },
    normal() {
      if (spare !== null) {
        const v = spare;
        spare = null;
        return v;
      }
      let u = 0;
      while (u === 0) u = rng.next();
      const v = rng.next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    shuffle(items) {
      for (let i = items.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const tmp = items[i] as (typeof items)[number];
        items[i] = items[j] as (typeof items)[number];
        items[j] = tmp;
      }
      return items;
    },
    uniformArray(n) {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = rng.next();
      return out;
    },
    fork: (label) => createRng((Math.imul(seed >>> 0, 0x9e3779b1) ^ hashLabel(label)) >>> 0),
    getState: () => ({ seed, s: [...s] as [number, number, number, number], spare }),
    setState(state) {
      s = [...state.s] as [number, number, number, number];
      spare = state.spare;
    },
  };
  return rng;
}
