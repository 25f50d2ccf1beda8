/**
 * insightface's 112×112 five-point template (`arcface_dst` in python-package/insightface/utils/face_align.py):
 * left eye, right eye, nose tip, left mouth corner, right mouth corner.
 */
export const ARCFACE_DST: ReadonlyArray<readonly [number, number]> = [
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041],
];

export const ALIGNED_SIZE = 112;
