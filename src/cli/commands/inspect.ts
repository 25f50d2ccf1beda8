import type { Command } from 'commander';
import { formatSummary, inspectDataset, unreadableError } from '../../data/inspect.js';
import { contextOf, parseInteger } from '../context.js';
import { printJson } from '../logger.js';

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description(
      'describe a dataset: image folder, .rec, .bin, or pairs folder (LFW pairs.txt / CFP Protocol)',
    )
    .argument('<path>', 'folder, FILE.rec, FILE.bin, pairs folder or pairs.txt')
    .option(
      '--sample <n>',
      '[number] images whose headers are read for sizes (0 = all, default 200)',
      parseInteger('--sample'),
    )
    .action(async (p: string, o: { sample?: number }, cmd: Command) => {
      const { opts, log } = contextOf(cmd);
      const summary = await inspectDataset(p, { sample: o.sample });
      if (opts.json) printJson(summary);
      else log.result(formatSummary(summary));
      // the summary is still printed; the exit status says the set is not clean
      const bad = unreadableError(summary);
      if (bad) throw bad;
    });
}
