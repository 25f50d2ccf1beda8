import type { Command } from 'commander';
import { FaceMaeError } from '../../core/errors.js';

// Placeholder until the verb lands; replaced by its implementation.
export function registerExport(program: Command): void {
  program
    .command('export')
    .description('export a trained reconstructor to ONNX')
    .action(() => {
      throw new FaceMaeError('export is not implemented yet');
    });
}
