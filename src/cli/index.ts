/**
 * The `facemae` command line: parses, calls the library, prints. Each verb lives in
 * `commands/<verb>.ts`; no maths here.
 */
import { Command } from 'commander';
import { VERSION } from '../version.js';
import { handleError } from './handle-error.js';
import { COMMANDS } from './commands/index.js';

export function buildProgram(): Command {
  const program = new Command('facemae')
    .description('FaceMAE: privacy-preserving face-recognition datasets via masked autoencoders')
    .version(VERSION)
    .option('-v, --verbose', 'print stack traces and debug notes')
    .option('-q, --quiet', 'no progress output on stderr')
    .option('--json', 'print results as one JSON document on stdout')
    .showHelpAfterError()
    .configureOutput({ outputError: (s, write) => write(s.replace(/^error:/, 'facemae: error:')) });
  for (const register of COMMANDS) register(program);
  return program;
}

const isMain = process.argv[1] && /facemae(\.js)?$|cli[\\/]index\.(js|ts)$/.test(process.argv[1]);
if (isMain) {
  const program = buildProgram();
  // the verb being run: its flags name the config keys a library error is about
  let verb: Command | undefined;
  program.hook('preAction', (_root, action) => {
    verb = action;
  });
  program
    .parseAsync(process.argv)
    .catch((err: unknown) =>
      handleError(err, process.argv.includes('--verbose') || process.argv.includes('-v'), verb),
    );
}
