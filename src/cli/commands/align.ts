import type { Command } from 'commander';
import { FaceMaeError } from '../../core/errors.js';

// Placeholder until the verb lands; replaced by its implementation.
export function registerAlign(program: Command): void {
  program
    .command('align')
    .description('detect faces and align raw photos to the 112x112 standard')
    .action(() => {
      throw new FaceMaeError('align is not implemented yet');
    });
}
