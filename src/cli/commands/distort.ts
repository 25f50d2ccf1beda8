import type { Command } from 'commander';
import { FaceMaeError } from '../../core/errors.js';

// Placeholder until the verb lands; replaced by its implementation.
export function registerDistort(program: Command): void {
  program
    .command('distort')
    .description('baseline protections: mask, blur, pixelate, noise')
    .action(() => {
      throw new FaceMaeError('distort is not implemented yet');
    });
}
