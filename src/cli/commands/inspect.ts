import type { Command } from 'commander';
import { FaceMaeError } from '../../core/errors.js';

// Placeholder until the verb lands; replaced by its implementation.
export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('describe a dataset: folder, .rec, .bin or pairs')
    .action(() => {
      throw new FaceMaeError('inspect is not implemented yet');
    });
}
