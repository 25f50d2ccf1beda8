import type { Command } from 'commander';
import { FaceMaeError } from '../../core/errors.js';

// Placeholder until the verb lands; replaced by its implementation.
export function registerPack(program: Command): void {
  program
    .command('pack')
    .description('pack an image folder into MXNet RecordIO train.rec/train.idx (or unpack one)')
    .action(() => {
      throw new FaceMaeError('pack is not implemented yet');
    });
}
