import { describe, expect, it } from 'vitest';
import {
  decodeScrfd,
  decodeUltraface,
  fiveFrom68,
  landmarkCropRect,
  letterbox,
  nms,
  pickFace,
  type FaceBox,
  type FaceDetection,
} from '../../src/align/index.js';

describe('nms', () => {
  it('keeps the best of overlapping boxes and distinct boxes (known answer)', () => {
    const boxes: FaceBox[] = [
      [0, 0, 9, 9], // 0: IoU with 1 = 81/119 = .68 -> suppressed by 1 (higher score)
      [1, 1, 10, 10], // 1: best score
      [20, 20, 29, 29], // 2: separate
      [0, 5, 9, 14], // 3: IoU with 1 = 54/146 = .37 -> kept at 0.4, dropped at 0.2
      [21, 20, 30, 29], // 4: IoU with 2 = 90/110 -> dropped
    ];
    const scores = [0.9, 0.95, 0.5, 0.6, 0.4];
    // areas use insightface's +1 convention: a [0,0,9,9] box has area 100
    expect(nms(boxes, scores, 0.4)).toEqual([1, 3, 2]);
    expect(nms(boxes, scores, 0.2)).toEqual([1, 2]);
    expect(nms([], [], 0.4)).toEqual([]);
  });
});

describe('decodeScrfd', () => {
  it('places anchors row-major with 2 per cell and scales distances by the stride', () => {
    // 32×16 input, stride 16 -> 2×1 grid, 2 anchors = 4 candidates; only candidate 3 passes.
    const scores = new Float32Array([0.1, 0.2, 0.3, 0.9]);
    const boxes = new Float32Array(16);
    boxes.set([1, 0.5, 2, 1], 12);
    const kps = new Float32Array(40);
    kps.set([0, 0, 1, 0, 0.5, 0.5, 0, 1, 1, 1], 30);
    const dets = decodeScrfd([{ stride: 16, scores, boxes, kps }], 32, 16, 0.5);
    expect(dets).toHaveLength(1);
    // candidate 3 = cell 1 = (x 16, y 0)
    expect(dets[0]?.box).toEqual([0, -8, 48, 16]);
    expect(dets[0]?.landmarks).toEqual([
      [16, 0],
      [32, 0],
      [24, 8],
      [16, 16],
      [32, 16],
    ]);
    expect(dets[0]?.score).toBeCloseTo(0.9, 6);
  });

  it('rejects outputs that do not fit the input size', () => {
    const z = new Float32Array(3);
    expect(() => decodeScrfd([{ stride: 8, scores: z, boxes: z, kps: z }], 640, 640, 0.5)).toThrow(
      /expected 12800 scores/,
    );
  });
});

describe('decodeUltraface and the faceplugin landmark crop', () => {
  it('scales corner-form fractions to photo pixels and thresholds the face score', () => {
    const scores = new Float32Array([0.9, 0.1, 0.2, 0.8]);
    const boxes = new Float32Array([0, 0, 1, 1, 0.25, 0.5, 0.75, 1]);
    const out = decodeUltraface(scores, boxes, 200, 100, 0.65);
    expect(out).toHaveLength(1);
    expect(out[0]?.box).toEqual([50, 50, 150, 100]);
  });

  it('crops a square of side = box height, clipped to the photo', () => {
    expect(landmarkCropRect([40, 20, 60, 60], 200, 200)).toEqual([30, 20, 40, 40]);
    expect(landmarkCropRect([-10, -10, 10, 30], 100, 100)).toEqual([0, 0, 20, 30]);
    expect(landmarkCropRect([0, 0, 1, 1], 100, 100)).toBeUndefined();
  });

  it('derives the five points from 68 (eye means, nose tip 30, mouth corners 48/54)', () => {
    const pts = Array.from({ length: 68 }, (_, i) => [i, 2 * i] as [number, number]);
    const five = fiveFrom68(pts);
    expect(five).toEqual([
      [38.5, 77],
      [44.5, 89],
      [30, 60],
      [48, 96],
      [54, 108],
    ]);
    expect(() => fiveFrom68(pts.slice(1))).toThrow(/68 points, got 67/);
  });
});

describe('letterbox', () => {
  it('keeps the aspect ratio, places the photo top-left and reports the scale', () => {
    const img = { data: new Uint8Array(200 * 100 * 3).fill(200), width: 200, height: 100 };
    const { image, scale } = letterbox(img, 640, 640);
    expect(scale).toBeCloseTo(3.2, 10);
    expect(image.width).toBe(640);
    expect(image.data[(100 * 640 + 100) * 3]).toBe(200); // inside the photo
    expect(image.data[(400 * 640 + 100) * 3]).toBe(0); // below it: black
  });
});

describe('pickFace', () => {
  const face = (box: FaceBox): FaceDetection => ({ box, score: 0.9, landmarks: [] });
  const faces = [face([0, 0, 60, 60]), face([90, 90, 130, 130]), face([150, 0, 190, 30])];
  it('largest picks the biggest box, central the one nearest the centre', () => {
    expect(pickFace(faces, 220, 220, 'largest')).toBe(faces[0]);
    expect(pickFace(faces, 220, 220, 'central')).toBe(faces[1]);
    expect(pickFace([], 220, 220, 'largest')).toBeUndefined();
  });
});
