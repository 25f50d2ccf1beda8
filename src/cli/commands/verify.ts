import type { Command } from 'commander';
import { FaceMaeError } from '../../core/errors.js';

// Placeholder until the verb lands; replaced by its implementation.
export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('10-fold verification accuracy on LFW / CFP-FP / AgeDB-30 style sets')
    .action(() => {
      throw new FaceMaeError('verify is not implemented yet');
    });
}
