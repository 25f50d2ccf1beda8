import type { Command } from 'commander';
import { FaceMaeError } from '../../core/errors.js';

// Placeholder until the verb lands; replaced by its implementation.
export function registerReconstruct(program: Command): void {
  program
    .command('reconstruct')
    .description('deploy: mask and reconstruct every face of a dataset of unseen identities')
    .action(() => {
      throw new FaceMaeError('reconstruct is not implemented yet');
    });
}
