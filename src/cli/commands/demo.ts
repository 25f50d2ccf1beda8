import type { Command } from 'commander';
import { DEMO_CONFIG } from '../../sweep/sweep.js';
import { collect } from '../context.js';
import { sweepAction, type SweepOptions } from './sweep.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'run the whole FaceMAE sweep on the built-in sample (configs/demo.json) and print where the report is',
    )
    .option('--out <dir>', '[string] run folder (default: runs/demo); a re-run continues it', 'runs/demo')
    .option('--config <file>', '[string] the sweep config to run (default: configs/demo.json)')
    .option(
      '--set <key=value>',
      '[string] override a key of the sweep config, e.g. --set maskRatios=[0.75] (repeatable)',
      collect,
    )
    .action(async (o: SweepOptions, cmd: Command) => {
      await sweepAction(cmd, o.config ?? DEMO_CONFIG, o);
    });
}
