import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeImage } from '../../src/data/image-folder.js';
import { parseLfwPairs, resolveCfpPairs } from '../../src/data/pairs.js';
import { parseVerificationSpec, readVerificationSet } from '../../src/data/verification-set.js';
import { patternImage, tmpDir } from './helpers.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SHARED = path.resolve(ROOT, '../shared/data');

/** An LFW-style dir: 2 folds × (1 same + 1 different). */
async function makeLfw(dir: string, header: string): Promise<string> {
  for (const [name, n] of [
    ['Ann_A', 1],
    ['Ann_A', 2],
    ['Bob_B', 1],
    ['Cy_C', 3],
  ] as const) {
    await writeImage(
      path.join(dir, 'images', name, `${name}_${String(n).padStart(4, '0')}.jpg`),
      patternImage(n + name.length, 12),
    );
  }
  fs.writeFileSync(
    path.join(dir, 'pairs.txt'),
    `${header}\nAnn_A\t1\t2\nAnn_A\t1\tBob_B\t1\nAnn_A 2 1\nBob_B 1 Cy_C 3\n`,
  );
  return dir;
}

describe('LFW pairs', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeLfw(tmpDir(), '2\t1');
  });

  it('parses 3- and 4-field lines with "F N" headers (tab or space) into folds', () => {
    for (const header of ['2 1', '2\t1']) {
      const { folds, perFold, pairs } = parseLfwPairs(`${header}\nA 1 2\nA 1 B 1\nA 2 3\nB 1 C 3\n`, 'p.txt');
      expect([folds, perFold]).toEqual([2, 1]);
      expect(pairs.map((p) => [p.nameA, p.numA, p.nameB, p.numB, p.same, p.fold, p.lineNo])).toEqual([
        ['A', 1, 'A', 2, true, 0, 2],
        ['A', 1, 'B', 1, false, 0, 3],
        ['A', 2, 'A', 3, true, 1, 4],
        ['B', 1, 'C', 3, false, 1, 5],
      ]);
    }
    expect(parseLfwPairs('1\nA 1 2\nA 1 B 1\n', 'dev.txt').folds).toBe(1);
  });

  it('refuses malformed pairs files with the line', () => {
    expect(() => parseLfwPairs('ten\n', 'p.txt')).toThrow(
      'p.txt:1: "ten" is not an LFW pairs header; expected "<folds> <pairs per fold>", e.g. "10 300"',
    );
    expect(() => parseLfwPairs('1 1\nA 1\nA 1 B 1\n', 'p.txt')).toThrow(
      'p.txt:2: "A 1" has 2 fields; expected "Name i j" (same) or "NameA i NameB j" (different)',
    );
    expect(() => parseLfwPairs('1 1\nA x 2\nA 1 B 1\n', 'p.txt')).toThrow(
      'p.txt:2: "A x 2": image number "x" is not a positive integer',
    );
    expect(() => parseLfwPairs('2 1\nA 1 2\nA 1 B 1\n', 'p.txt')).toThrow(
      'p.txt: the header says 2 fold(s) × (1 same + 1 different) = 4 pairs, but the file has 2',
    );
  });

  it('reads lfw:DIR as interleaved pairs with folds, sharing repeated images', async () => {
    const set = await readVerificationSet(`lfw:${dir}`);
    expect(set.name).toBe('lfw');
    expect(set.issame).toEqual([true, false, true, false]);
    expect(set.folds).toEqual([0, 0, 1, 1]);
    expect(set.images.length).toBe(8);
    expect(set.sources.map((s) => path.basename(s))).toEqual([
      'Ann_A_0001.jpg',
      'Ann_A_0002.jpg',
      'Ann_A_0001.jpg',
      'Bob_B_0001.jpg',
      'Ann_A_0002.jpg',
      'Ann_A_0001.jpg',
      'Bob_B_0001.jpg',
      'Cy_C_0003.jpg',
    ]);
    expect(set.images[0]).toBe(set.images[2]); // decoded once
    expect(set.images[0]!.width).toBe(12);
    // a plain path is auto-detected, and the pairs file itself works too
    expect((await readVerificationSet(dir)).issame.length).toBe(4);
    expect((await readVerificationSet(path.join(dir, 'pairs.txt'))).issame.length).toBe(4);
  });

  it('accepts <DIR>/<Name>/ without images/ and <n>.jpg numbering', async () => {
    const d = tmpDir();
    await writeImage(path.join(d, 'A', '1.jpg'), patternImage(1, 8));
    await writeImage(path.join(d, 'A', '2.png'), patternImage(2, 8));
    await writeImage(path.join(d, 'B', 'B_0007.jpg'), patternImage(3, 8));
    fs.writeFileSync(path.join(d, 'pairs.txt'), '1 1\nA 1 2\nA 1 B 7\n');
    const set = await readVerificationSet(`lfw:${d}`);
    expect(set.sources.map((s) => path.relative(d, s))).toEqual([
      path.join('A', '1.jpg'),
      path.join('A', '2.png'),
      path.join('A', '1.jpg'),
      path.join('B', 'B_0007.jpg'),
    ]);
  });

  it('refuses a pair naming a missing image, naming the line and file', async () => {
    const d = await makeLfw(tmpDir(), '2 1');
    fs.appendFileSync(path.join(d, 'pairs.txt'), '');
    fs.writeFileSync(path.join(d, 'pairs.txt'), '1 1\nAnn_A 1 9\nAnn_A 1 Bob_B 1\n');
    const pf = path.join(d, 'pairs.txt');
    const missing = path.join(d, 'images', 'Ann_A', 'Ann_A_0009.jpg');
    await expect(readVerificationSet(`lfw:${d}`)).rejects.toThrow(
      `${pf}:2: pair "Ann_A 1 9" names image ${missing}, which does not exist; fix the pairs file or add the image`,
    );
    const empty = tmpDir();
    await expect(readVerificationSet(`lfw:${empty}`)).rejects.toThrow(
      `LFW pairs file ${path.join(empty, 'pairs.txt')} not found`,
    );
  });

  it('reads the built-in sample (assets/sample/verify)', async () => {
    const set = await readVerificationSet(`lfw:${path.join(ROOT, 'assets/sample/verify')}`, {
      size: 112,
      onWrongSize: 'error',
    });
    expect(set.issame.length).toBe(200);
    expect(set.issame.filter(Boolean).length).toBe(100);
    expect(new Set(set.folds)).toEqual(new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
  });

  it('refuses unknown specs and paths that are no set', () => {
    expect(() => parseVerificationSpec('xyz:/tmp')).toThrow(
      'unknown verification set kind "xyz" in "xyz:/tmp"',
    );
    expect(() => parseVerificationSpec('/nonexistent/lfw.bin')).toThrow(
      'verification set /nonexistent/lfw.bin does not exist',
    );
    const d = tmpDir();
    expect(() => parseVerificationSpec(d)).toThrow(`cannot tell what verification set ${d} is`);
  });

  it.skipIf(!fs.existsSync(path.join(SHARED, 'lfw-aligned-112/pairs.txt')))(
    'resolves all 6,000 pairs of ../shared/data/lfw-aligned-112',
    async () => {
      const t0 = performance.now();
      const set = await readVerificationSet(`lfw:${path.join(SHARED, 'lfw-aligned-112')}`);
      const secs = (performance.now() - t0) / 1000;
      expect(set.issame.length).toBe(6000);
      expect(set.issame.filter(Boolean).length).toBe(3000);
      expect(set.images.length).toBe(12000);
      expect(new Set(set.sources).size).toBe(7701);
      expect(set.folds!.filter((f) => f === 9).length).toBe(600);
      console.log(`lfw-aligned-112: 6000 pairs, 7701 images decoded in ${secs.toFixed(1)} s`);
    },
  );
});

/** A CFP-like tree: 2 subjects × (2 frontal, 1 profile), 2 FP folds. */
function makeCfp(root: string): Promise<void[]> {
  const proto = path.join(root, 'Protocol');
  const writes: Promise<void>[] = [];
  const f: string[] = [];
  const p: string[] = [];
  let k = 1;
  for (const s of ['001', '002']) {
    for (const n of ['01', '02']) {
      writes.push(writeImage(path.join(root, 'Data/Images', s, 'frontal', `${n}.jpg`), patternImage(k, 8)));
      f.push(`${f.length + 1} ../Data/Images/${s}/frontal/${n}.jpg`);
      k++;
    }
    writes.push(writeImage(path.join(root, 'Data/Images', s, 'profile', '01.jpg'), patternImage(k++, 8)));
    p.push(`${p.length + 1} ../Data/Images/${s}/profile/01.jpg`);
  }
  fs.mkdirSync(proto, { recursive: true });
  fs.writeFileSync(path.join(proto, 'Pair_list_F.txt'), f.join('\n') + '\n');
  fs.writeFileSync(path.join(proto, 'Pair_list_P.txt'), p.join('\n') + '\n');
  for (const [fold, same, diff] of [
    ['01', '1,1', '1,2'],
    ['02', '4,2', '3,1'],
  ]) {
    fs.mkdirSync(path.join(proto, 'Split/FP', fold!), { recursive: true });
    fs.writeFileSync(path.join(proto, 'Split/FP', fold!, 'same.txt'), `${same}\n`);
    fs.writeFileSync(path.join(proto, 'Split/FP', fold!, 'diff.txt'), `${diff}\n`);
  }
  return Promise.all(writes);
}

describe('CFP-FP', () => {
  it('reads the release layout: folds 01..10, same then diff, frontal vs profile', async () => {
    const root = tmpDir();
    await makeCfp(root);
    const set = await readVerificationSet(`cfp-fp:${root}`);
    expect(set.name).toBe('cfp_fp');
    expect(set.issame).toEqual([true, false, true, false]);
    expect(set.folds).toEqual([0, 0, 1, 1]);
    expect(set.sources.map((s) => path.relative(root, s))).toEqual(
      [
        'Data/Images/001/frontal/01.jpg',
        'Data/Images/001/profile/01.jpg',
        'Data/Images/001/frontal/01.jpg',
        'Data/Images/002/profile/01.jpg',
        'Data/Images/002/frontal/02.jpg',
        'Data/Images/002/profile/01.jpg',
        'Data/Images/002/frontal/01.jpg',
        'Data/Images/001/profile/01.jpg',
      ].map((s) => path.join(...s.split('/'))),
    );
    expect(parseVerificationSpec(root).kind).toBe('cfp-fp');
  });

  it('refuses a pair naming a missing image or number', async () => {
    const root = tmpDir();
    await makeCfp(root);
    fs.rmSync(path.join(root, 'Data/Images/002/profile/01.jpg'));
    const same = path.join(root, 'Protocol/Split/FP/01/same.txt');
    expect(() => resolveCfpPairs(root)).toThrow(
      `${path.join(root, 'Protocol/Split/FP/01/diff.txt')}:1: 1,2: pair names image ${path.join(root, 'Data/Images/002/profile/01.jpg')} (${path.join(root, 'Protocol/Pair_list_P.txt')}:2), which does not exist`,
    );
    fs.writeFileSync(same, '1,9\n');
    expect(() => resolveCfpPairs(root)).toThrow(`${same}:1: 1,9: image number 9 is not in Pair_list_P.txt`);
    expect(() => resolveCfpPairs(tmpDir())).toThrow(
      /is not a CFP dataset folder: expected .*Pair_list_F\.txt/,
    );
  });
});
