import type { Command } from 'commander';
import { nonNegInt, z } from '../../config/schema.js';
import { formatSummary, inspectDataset, unreadableError } from '../../data/inspect.js';
import {
  addConfigOptions,
  contextOf,
  resolveVerbConfig,
  type ConfigFlag,
  type ConfigSources,
} from '../context.js';
import { printJson } from '../logger.js';

const SCHEMA = z.strictObject({ sample: nonNegInt().optional() });

const FLAGS: ConfigFlag[] = [
  {
    flag: '--sample <n>',
    key: 'sample',
    help: 'images whose headers are read for sizes (0 = all)',
    default: '200',
  },
];

export function registerInspect(program: Command): void {
  const verb = program
    .command('inspect')
    .description(
      'describe a dataset: image folder, .rec, .bin, or pairs folder (LFW pairs.txt / CFP Protocol)',
    )
    .argument('<path>', 'folder, FILE.rec, FILE.bin, pairs folder or pairs.txt');
  addConfigOptions(verb, SCHEMA, {}, FLAGS, 'sample=0').action(
    async (p: string, flags: ConfigSources, cmd: Command) => {
      const { opts, log } = contextOf(cmd);
      const summary = await inspectDataset(p, resolveVerbConfig(SCHEMA, {}, flags, FLAGS));
      if (opts.json) printJson(summary);
      else log.result(formatSummary(summary));
      // the summary is still printed; the exit status says the set is not clean
      const bad = unreadableError(summary);
      if (bad) throw bad;
    },
  );
}
