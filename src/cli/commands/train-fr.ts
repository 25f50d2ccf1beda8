import type { Command } from 'commander';
import { FaceMaeError } from '../../core/errors.js';

// Placeholder until the verb lands; replaced by its implementation.
export function registerTrainFr(program: Command): void {
  program
    .command('train-fr')
    .description('train a face-recognition model with an ArcFace-style margin loss')
    .action(() => {
      throw new FaceMaeError('train-fr is not implemented yet');
    });
}
