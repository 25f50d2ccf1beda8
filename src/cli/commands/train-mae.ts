import type { Command } from 'commander';
import { FaceMaeError } from '../../core/errors.js';

// Placeholder until the verb lands; replaced by its implementation.
export function registerTrainMae(program: Command): void {
  program
    .command('train-mae')
    .description('train the masked autoencoder (MSE on masked patches + lambda*IRM)')
    .action(() => {
      throw new FaceMaeError('train-mae is not implemented yet');
    });
}
