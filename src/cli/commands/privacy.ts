import type { Command } from 'commander';
import { FaceMaeError } from '../../core/errors.js';

// Placeholder until the verb lands; replaced by its implementation.
export function registerPrivacy(program: Command): void {
  program
    .command('privacy')
    .description('face-retrieval attack: how much identity leaks from a protected dataset')
    .action(() => {
      throw new FaceMaeError('privacy is not implemented yet');
    });
}
