/** Face detection and 5-point alignment of raw photos to insightface's 112×112 standard. */
export type { Box as FaceBox, FaceDetection, FaceDetector, PickMode, Affine } from './types.js';
export { ARCFACE_DST, ALIGNED_SIZE } from './template.js';
export { estimateSimilarity, applyAffine, invertAffine } from './umeyama.js';
export { warpAffine } from './warp.js';
export { letterbox, type Letterboxed } from './letterbox.js';
export { nms } from './nms.js';
export { pickFace } from './pick-face.js';
export { decodeScrfd, type ScrfdLevel } from './scrfd-decode.js';
export { decodeUltraface, landmarkCropRect, fiveFrom68 } from './ultraface-decode.js';
export { createScrfdDetector, type ScrfdOptions } from './scrfd.js';
export { createFacepluginDetector, FACEPLUGIN_DIR, type FacepluginOptions } from './faceplugin.js';
export {
  facepluginDetectorFrom,
  FACEPLUGIN_FILES,
  FACEPLUGIN_IO,
  type OnnxRunner,
  type FacepluginThresholds,
} from './faceplugin-core.js';
export { createFaceDetector, DETECTOR_SPECS, type DetectorOptions } from './detector.js';
export {
  alignToTemplate,
  findFace,
  alignPhoto,
  isTightBox,
  touchesBorder,
  type AlignPhotoOptions,
  type AlignedFace,
  type FoundFace,
} from './align-face.js';
export {
  alignFolder,
  alignFolderWith,
  listPhotos,
  DEFAULT_ALIGN_CONFIG,
  validateAlignConfig,
  type AlignFolderOptions,
  type AlignConfig,
  type AlignReport,
  type NoFaceEntry,
} from './align-folder.js';
