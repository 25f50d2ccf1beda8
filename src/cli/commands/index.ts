import type { Command } from 'commander';
import { registerDemo } from './demo.js';
import { registerTrainMae } from './train-mae.js';
import { registerReconstruct } from './reconstruct.js';
import { registerExport } from './export.js';
import { registerTrainFr } from './train-fr.js';
import { registerVerify } from './verify.js';
import { registerDistort } from './distort.js';
import { registerPrivacy } from './privacy.js';
import { registerSweep } from './sweep.js';
import { registerAlign } from './align.js';
import { registerPack } from './pack.js';
import { registerInspect } from './inspect.js';
import { registerWorker } from './worker.js';
import { registerWeb } from './web.js';

/** Every verb, in the order `facemae --help` lists them. */
export const COMMANDS: ReadonlyArray<(program: Command) => void> = [
  registerDemo,
  registerTrainMae,
  registerReconstruct,
  registerExport,
  registerTrainFr,
  registerVerify,
  registerDistort,
  registerPrivacy,
  registerSweep,
  registerAlign,
  registerPack,
  registerInspect,
  registerWorker,
  registerWeb,
];
