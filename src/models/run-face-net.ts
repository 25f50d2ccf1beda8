/** Loads a FaceNet from a `facemae train-fr` run folder (filled in with the backbones). */
import { FaceMaeError } from '../core/errors.js';
import type { FaceNet } from '../types.js';

export async function loadRunFaceNet(dir: string): Promise<FaceNet> {
  throw new FaceMaeError(`loading train-fr runs is not implemented yet: ${dir}`);
}
