import type { Command } from 'commander';
import { DEMO_CONFIG } from '../../sweep/cli-run.js';
import { collect } from '../context.js';
import { sweepAction } from './sweep.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'run the whole FaceMAE sweep on the built-in sample (configs/demo.json) and print where the report is',
    )
    .option('--out <dir>', '[string] run folder (default: runs/demo); a re-run continues it', 'runs/demo')
    .option('--set <key=value>', '[string] override a key of configs/demo.json (repeatable)', collect)
    .action(async (o: { out: string; set?: string[] }, cmd: Command) => {
      await sweepAction(cmd, DEMO_CONFIG, o);
    });
}
