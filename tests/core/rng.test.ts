import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/core/rng.js';

describe('createRng', () => {
  it('gives equal streams for equal seeds and different streams otherwise', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const xa = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xa);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xa);
    for (const x of xa) expect(x >= 0 && x < 1).toBe(true);
  });

  it('is uniform enough and normal() has mean 0, variance 1', () => {
    const r = createRng(1);
    const n = 20000;
    let s = 0;
    let s2 = 0;
    let u = 0;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      s += z;
      s2 += z * z;
      u += r.next();
    }
    expect(Math.abs(s / n)).toBeLessThan(0.03);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.05);
    expect(Math.abs(u / n - 0.5)).toBeLessThan(0.01);
  });

  it('shuffle is a permutation and reproducible', () => {
    const p1 = createRng(7).shuffle([...Array(50).keys()]);
    const p2 = createRng(7).shuffle([...Array(50).keys()]);
    expect(p1).toEqual(p2);
    expect([...p1].sort((x, y) => x - y)).toEqual([...Array(50).keys()]);
    expect(p1).not.toEqual([...Array(50).keys()]);
  });

  it('state round-trips so a resumed run continues the same stream', () => {
    const r = createRng(9);
    r.next();
    r.normal();
    const st = r.getState();
    const next = [r.next(), r.normal(), r.int(1000)];
    const r2 = createRng(0);
    r2.setState(st);
    expect([r2.next(), r2.normal(), r2.int(1000)]).toEqual(next);
  });

  it('fork is deterministic, independent of the parent position, and label-dependent', () => {
    const r = createRng(5);
    const f1 = r.fork('mask').next();
    r.next();
    expect(r.fork('mask').next()).toBe(f1);
    expect(r.fork('shuffle').next()).not.toBe(f1);
  });

  it('rejects bad arguments with the value in the message', () => {
    expect(() => createRng(NaN)).toThrow(/NaN/);
    expect(() => createRng(1).int(0)).toThrow(/got 0/);
  });
});
