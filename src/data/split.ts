/**
 * Seeded split of an identity-folder dataset by identity (the evidence protocol: a deployment set
 * B of people the reconstructor and its IRM teacher never saw, and a remainder that joins the
 * public training pool A).
 */
import { FaceMaeError } from '../core/errors.js';
import { createRng } from '../core/rng.js';

export interface IdentitySplit {
  /** Identities of the deployment set B, sorted. */
  deploy: string[];
  /** The other identities (they join A), sorted. */
  rest: string[];
}

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Picks `deployCount` identities for B with a seeded shuffle of the code-point-sorted list, so the
 * split depends only on (identity names, seed, count), never on listing order or platform.
 */
export function splitIdentities(
  identities: readonly string[],
  opts: { seed: number; deployCount: number },
): IdentitySplit {
  const sorted = [...new Set(identities)].sort(byCodePoint);
  const { deployCount, seed } = opts;
  if (!Number.isInteger(deployCount) || deployCount < 1 || deployCount >= sorted.length) {
    throw new FaceMaeError(
      `split.deployIdentities ${deployCount} must be an integer in [1, ${sorted.length - 1}] (the dataset has ${sorted.length} identities)`,
      'E_CONFIG',
    );
  }
  const shuffled = createRng(seed)
    .fork('identity-split')
    .shuffle([...sorted]);
  const chosen = new Set(shuffled.slice(0, deployCount));
  return {
    deploy: sorted.filter((id) => chosen.has(id)),
    rest: sorted.filter((id) => !chosen.has(id)),
  };
}
