import type { Command } from 'commander';
import { FaceMaeError } from '../../core/errors.js';

// Placeholder until the verb lands; replaced by its implementation.
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the whole FaceMAE sweep on the built-in sample and print where the report is')
    .action(() => {
      throw new FaceMaeError('demo is not implemented yet');
    });
}
