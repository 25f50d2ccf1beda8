import { describe, expect, it } from 'vitest';
import { splitIdentities } from '../../src/data/split.js';

const ids = Array.from({ length: 50 }, (_, i) => `id${i}`);

describe('splitIdentities', () => {
  it('is a seeded partition that does not depend on the listing order', () => {
    const a = splitIdentities(ids, { seed: 7, deployCount: 30 });
    const b = splitIdentities([...ids].reverse(), { seed: 7, deployCount: 30 });
    expect(a).toEqual(b);
    expect(a.deploy).toHaveLength(30);
    expect(a.rest).toHaveLength(20);
    expect(new Set([...a.deploy, ...a.rest]).size).toBe(50);
    expect(a.deploy.filter((x) => a.rest.includes(x))).toEqual([]);
    const c = splitIdentities(ids, { seed: 8, deployCount: 30 });
    expect(c.deploy).not.toEqual(a.deploy);
  });

  it('refuses a count that leaves either side empty, naming the key', () => {
    expect(() => splitIdentities(ids, { seed: 0, deployCount: 50 })).toThrow(/split.deployIdentities 50/);
    expect(() => splitIdentities(ids, { seed: 0, deployCount: 0 })).toThrow(/\[1, 49\]/);
  });
});
