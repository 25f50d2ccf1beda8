import type { Command } from 'commander';
import { FaceMaeError } from '../../core/errors.js';

// Placeholder until the verb lands; replaced by its implementation.
export function registerSweep(program: Command): void {
  program
    .command('sweep')
    .description('privacy-utility sweep over FaceMAE mask ratios and baselines, with an HTML report')
    .action(() => {
      throw new FaceMaeError('sweep is not implemented yet');
    });
}
