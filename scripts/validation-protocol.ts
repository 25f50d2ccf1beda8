/**
 * The validation protocol inside the public pool A, so that every choice (IRM weight, release
 * knob, model) is made without looking at the deployment set B or at LFW: A's identities with
 * PREFIX are split (src/data/split.ts, seeded) into
 *   verify  VERIFY identities -> LFW-style pairs (10 identity-disjoint folds × PAIRS same + PAIRS
 *           different), the utility test set;
 *   deploy  DEPLOY identities -> the validation release (protected, attacked, trained on);
 *   public  the rest of A (and every identity without PREFIX) -> the attacker's public data.
 * Files are hard links (a copy across file systems), never modified.
 * Usage: tsx scripts/validation-protocol.ts A_DIR OUT [VERIFY=40] [DEPLOY=100] [PAIRS=150] [SEED=0] [PREFIX=celeba-]
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRng } from '../src/core/rng.js';
import { listImageFolder } from '../src/data/image-folder.js';
import { makeLfwPairs } from '../src/data/pairs.js';
import { splitIdentities } from '../src/data/split.js';

const [a, out, verifyArg, deployArg, pairsArg, seedArg, prefixArg] = process.argv.slice(2);
if (!a || !out) {
  process.stderr.write(
    'usage: tsx scripts/validation-protocol.ts A_DIR OUT [VERIFY=40] [DEPLOY=100] [PAIRS=150] [SEED=0] [PREFIX=celeba-]\n',
  );
  process.exit(2);
}
if (fs.existsSync(out)) {
  process.stderr.write(`${out} exists: choose a new folder (nothing is overwritten)\n`);
  process.exit(2);
}
const [nVerify, nDeploy, perFold, seed] = [
  verifyArg ?? 40,
  deployArg ?? 100,
  pairsArg ?? 150,
  seedArg ?? 0,
].map(Number) as [number, number, number, number];
const prefix = prefixArg ?? 'celeba-';
const { records, identities } = await listImageFolder(a);
const candidates = identities.filter((id) => id.startsWith(prefix));
const verify = splitIdentities(candidates, { seed, deployCount: nVerify }).deploy;
const deploy = splitIdentities(
  candidates.filter((id) => !verify.includes(id)),
  { seed: seed + 1, deployCount: nDeploy },
).deploy;
const role = (id: string) => (verify.includes(id) ? 'verify' : deploy.includes(id) ? 'deploy' : 'public');
const link = (from: string, to: string) => {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  try {
    fs.linkSync(from, to);
  } catch {
    fs.copyFileSync(from, to);
  }
};
const counts = new Map<string, number>();
const tmp = `${out}.partial`;
fs.rmSync(tmp, { recursive: true, force: true });
for (const r of [...records].sort((x, y) => (x.path < y.path ? -1 : 1))) {
  const k = role(r.identity);
  if (k === 'verify') {
    const n = (counts.get(r.identity) ?? 0) + 1;
    counts.set(r.identity, n);
    const ext = path.extname(r.path);
    link(
      r.path,
      path.join(tmp, 'verify/images', r.identity, `${r.identity}_${String(n).padStart(4, '0')}${ext}`),
    );
  } else link(r.path, path.join(tmp, k, r.identity, path.basename(r.path)));
}
fs.writeFileSync(
  path.join(tmp, 'verify/pairs.txt'),
  makeLfwPairs(counts, { folds: 10, perFold, rng: createRng(seed).fork('validation-pairs') }),
);
const summary = { from: a, seed, prefix, verify, deploy, images: records.length };
fs.writeFileSync(path.join(tmp, 'protocol.json'), JSON.stringify(summary, null, 1) + '\n');
fs.renameSync(tmp, out);
process.stdout.write(
  `${out}: verify ${verify.length} identities (${[...counts.values()].reduce((x, y) => x + y, 0)} images, ${20 * perFold} pairs), deploy ${deploy.length}, public ${identities.length - verify.length - deploy.length}\n`,
);
