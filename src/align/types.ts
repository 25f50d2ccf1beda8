/** Types of the detection + 5-point alignment pipeline. Coordinates are pixels of the input photo. */
import type { RgbImage } from '../types.js';

/** [x1, y1, x2, y2], corner form, pixels. */
export type Box = [number, number, number, number];

/** One detected face: box, confidence and five landmarks (left eye, right eye, nose, left mouth, right mouth). */
export interface FaceDetection {
  box: Box;
  score: number;
  /** 5 × [x, y] in the order of insightface's template (image-left eye first). */
  landmarks: Array<[number, number]>;
}

/** A face detector with 5-point landmarks. Holds ONNX sessions: call dispose() when done. */
export interface FaceDetector {
  readonly name: string;
  /** Faces in `img`, best score first (after NMS). */
  detect(img: RgbImage): Promise<FaceDetection[]>;
  dispose(): Promise<void>;
}

export type PickMode = 'largest' | 'central';

/** A 2×3 affine matrix, row-major: [a, b, c, d, e, f] maps (x, y) to (a x + b y + c, d x + e y + f). */
export type Affine = [number, number, number, number, number, number];
