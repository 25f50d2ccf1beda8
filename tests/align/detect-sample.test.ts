/** Detection + alignment on the committed photos, with the bundled faceplugin detector (no ../shared needed). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  alignPhoto,
  applyAffine,
  ARCFACE_DST,
  createFacepluginDetector,
  findFace,
  isTightBox,
  touchesBorder,
  type FaceDetection,
  type FaceDetector,
} from '../../src/align/index.js';
import { decodePhoto } from '../../src/align/image-io.js';
import type { RgbImage } from '../../src/types.js';
import { cosine, createFaceRecognizerForCheck } from './fr-check.js';

const root = path.resolve(import.meta.dirname, '../..');
const RAW = path.join(root, 'assets/sample/raw');
const DEPLOY = path.join(root, 'assets/sample/deploy');
const rawFiles = fs
  .readdirSync(RAW)
  .flatMap((id) => fs.readdirSync(path.join(RAW, id)).map((f) => path.join(RAW, id, f)))
  .sort();

let det: FaceDetector;
beforeAll(async () => {
  det = await createFacepluginDetector();
});
afterAll(async () => {
  await det.dispose();
});

describe('faceplugin detector on assets/sample/raw', () => {
  it('finds a face with plausible five points in each of the 8 raw photos', async () => {
    expect(rawFiles).toHaveLength(8);
    for (const f of rawFiles) {
      const img = await decodePhoto(f);
      const faces = await det.detect(img);
      expect(faces.length, f).toBeGreaterThan(0);
      const [le, re, nose, lm, rm] = (faces[0] as FaceDetection).landmarks as Array<[number, number]>;
      const [x1, y1, x2, y2] = (faces[0] as FaceDetection).box;
      expect(le![0], f).toBeLessThan(re![0]);
      expect(lm![0], f).toBeLessThan(rm![0]);
      expect(Math.max(le![1], re![1]), f).toBeLessThan(nose![1]);
      expect(nose![1], f).toBeLessThan(Math.min(lm![1], rm![1]));
      for (const [x, y] of [le!, re!, nose!, lm!, rm!]) {
        expect(x).toBeGreaterThan(x1 - 5);
        expect(x).toBeLessThan(x2 + 5);
        expect(y).toBeGreaterThan(y1 - 5);
        expect(y).toBeLessThan(y2 + 5);
      }
    }
  });

  it('aligns each photo so its landmarks land on the arcface template', async () => {
    for (const f of rawFiles) {
      const r = await alignPhoto(det, await decodePhoto(f));
      expect(r, f).toBeDefined();
      expect(r!.image.width).toBe(112);
      expect(r!.image.height).toBe(112);
      let err = 0;
      r!.face.landmarks.forEach(([x, y], i) => {
        const [u, v] = applyAffine(r!.transform, x, y);
        err += Math.hypot(u - ARCFACE_DST[i]![0], v - ARCFACE_DST[i]![1]);
      });
      // mean residual in 112-px units: pose makes five points non-similar (Bob Hope, turned: 4.4)
      expect(err / 5, f).toBeLessThan(6);
    }
  });
});

describe('photos with several faces, and grayscale photos', () => {
  it('--pick largest takes the big face, central the one in the middle', async () => {
    const a = await decodePhoto(rawFiles[0] as string);
    const b = await decodePhoto(rawFiles[1] as string);
    // 600×300 canvas: photo a (250 px) at the left, photo b halved (125 px) centred at x = 300
    const small = await sharp(Buffer.from(b.data), { raw: { width: 250, height: 250, channels: 3 } })
      .resize(125, 125)
      .raw()
      .toBuffer();
    const canvas = await sharp({ create: { width: 600, height: 300, channels: 3, background: '#000' } })
      .composite([
        { input: Buffer.from(a.data), raw: { width: 250, height: 250, channels: 3 }, left: 0, top: 25 },
        { input: small, raw: { width: 125, height: 125, channels: 3 }, left: 238, top: 88 },
      ])
      .removeAlpha()
      .raw()
      .toBuffer();
    const img: RgbImage = { data: new Uint8Array(canvas), width: 600, height: 300 };
    expect((await det.detect(img)).length).toBeGreaterThanOrEqual(2);
    const cx = (f: FaceDetection) => (f.box[0] + f.box[2]) / 2;
    const largest = await findFace(det, img, { pick: 'largest' });
    const central = await findFace(det, img, { pick: 'central' });
    expect(cx(largest!.face)).toBeLessThan(250);
    expect(largest!.faces).toBeGreaterThanOrEqual(2);
    expect(Math.abs(cx(central!.face) - 300)).toBeLessThan(40);
  });

  it('aligns a large photo (2000×2000) to the same face as the original', async () => {
    const img = await decodePhoto(rawFiles[3] as string);
    const bigBuf = await sharp(Buffer.from(img.data), {
      raw: { width: img.width, height: img.height, channels: 3 },
    })
      .resize(2000, 2000)
      .raw()
      .toBuffer();
    const big: RgbImage = { data: new Uint8Array(bigBuf), width: 2000, height: 2000 };
    const [a, b] = [await alignPhoto(det, img), await alignPhoto(det, big)];
    const fr = await createFaceRecognizerForCheck();
    try {
      expect(cosine(await fr.embed(a!.image.data), await fr.embed(b!.image.data))).toBeGreaterThan(0.9);
    } finally {
      await fr.dispose();
    }
  });

  it('aligns a grayscale JPEG (decoded to RGB)', async () => {
    const file = path.join(os.tmpdir(), `align-gray-${process.pid}.jpg`);
    await sharp(rawFiles[2] as string)
      .grayscale()
      .jpeg()
      .toFile(file);
    try {
      const img = await decodePhoto(file);
      expect(img.data.length).toBe(img.width * img.height * 3);
      expect(await alignPhoto(det, img)).toBeDefined();
    } finally {
      fs.rmSync(file, { force: true });
    }
  });
});

describe('tight face crops', () => {
  it('re-aligning an insightface crop gives nearly the same face (cosine ≥ 0.9)', async () => {
    const fr = await createFaceRecognizerForCheck();
    try {
      const ids = fs.readdirSync(DEPLOY).sort().slice(0, 6);
      for (const id of ids) {
        const file = path.join(DEPLOY, id, fs.readdirSync(path.join(DEPLOY, id)).sort()[0] as string);
        const img = await decodePhoto(file);
        const r = await alignPhoto(det, img);
        expect(r, file).toBeDefined();
        expect(cosine(await fr.embed(img.data), await fr.embed(r!.image.data)), file).toBeGreaterThan(0.9);
      }
    } finally {
      await fr.dispose();
    }
  });

  it('retries on a padded canvas when nothing is found and maps coordinates back', async () => {
    const seen: number[] = [];
    // finds a face only on images wider than 150 px, at the photo centre in its own coordinates
    const picky: FaceDetector = {
      name: 'picky',
      async detect(img: RgbImage) {
        seen.push(img.width);
        if (img.width <= 150) return [];
        const c = img.width / 2;
        return [
          {
            box: [c - 20, c - 20, c + 20, c + 20],
            score: 0.9,
            landmarks: [
              [c - 10, c - 5],
              [c + 10, c - 5],
              [c, c + 3],
              [c - 8, c + 12],
              [c + 8, c + 12],
            ],
          },
        ];
      },
      async dispose() {},
    };
    const img: RgbImage = { data: new Uint8Array(112 * 112 * 3), width: 112, height: 112 };
    const found = await findFace(picky, img, { padRetry: 0.25 });
    expect(seen).toEqual([112, 168]); // 28 px of black on each side
    expect(found?.padded).toBe(true);
    expect(found?.face.box).toEqual([36, 36, 76, 76]);
    expect(found?.face.landmarks[0]).toEqual([46, 51]);
    expect(await findFace(picky, img, { padRetry: 0 })).toBeUndefined();
  });
});

describe('when findFace searches a padded canvas', () => {
  /** Returns `direct` on the photo itself and `padded` (in padded-canvas pixels) on anything larger. */
  const scripted = (w: number, direct: FaceDetection[], padded: FaceDetection[]): FaceDetector => ({
    name: 'scripted',
    async detect(img: RgbImage) {
      return img.width === w ? direct : padded;
    },
    async dispose() {},
  });
  const face = (box: [number, number, number, number]): FaceDetection => ({
    box,
    score: 0.9,
    landmarks: [
      [box[0], box[1]],
      [box[2], box[1]],
      [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2],
      [box[0], box[3]],
      [box[2], box[3]],
    ],
  });
  const img: RgbImage = { data: new Uint8Array(100 * 100 * 3), width: 100, height: 100 };

  it('keeps a normal face without a second search', async () => {
    const r = await findFace(scripted(100, [face([30, 30, 60, 70])], [face([0, 0, 5, 5])]), img);
    expect(r).toMatchObject({ padded: false, face: { box: [30, 30, 60, 70] } });
  });

  it('prefers the padded result for a tight crop (face ≥ 75% of the photo)', async () => {
    // 25 px of padding: padded box [35,30,115,130] maps back to [10,5,90,105]
    const r = await findFace(scripted(100, [face([5, 5, 95, 95])], [face([35, 30, 115, 130])]), img);
    expect(r).toMatchObject({ padded: true, face: { box: [10, 5, 90, 105] } });
    expect(isTightBox([5, 5, 95, 95], 100, 100, 0.75)).toBe(true);
    expect(isTightBox([30, 30, 60, 70], 100, 100, 0.75)).toBe(false);
  });

  it('lets the pick rule choose between a border-cut fragment and the padded face', async () => {
    const fragment = face([80, 0, 100, 30]);
    expect(touchesBorder(fragment.box, 100, 100)).toBe(true);
    const big = await findFace(scripted(100, [fragment], [face([40, 40, 110, 120])]), img);
    expect(big).toMatchObject({ padded: true, face: { box: [15, 15, 85, 95] } });
    const none = await findFace(scripted(100, [fragment], []), img);
    expect(none).toMatchObject({ padded: false, face: { box: [80, 0, 100, 30] } });
  });
});

describe('detector errors and lifetime', () => {
  it('names a missing model file', async () => {
    await expect(createFacepluginDetector({ dir: '/nonexistent/models' })).rejects.toThrow(
      /faceplugin detector model not found: \/nonexistent\/models\/fr_detect.onnx/,
    );
  });

  it('refuses to run after dispose()', async () => {
    const d = await createFacepluginDetector();
    await d.dispose();
    await expect(d.detect(await decodePhoto(rawFiles[0] as string))).rejects.toThrow();
  });
});
