/**
 * `facemae privacy` as a library call: the attacker suite against one release, with everything the
 * attacker needs made on the way (protect(A) with the attacker's own seed, the embedders, the
 * embedding cache) in a work folder: the caller's, kept for the next audit, or a temporary one
 * removed at the end.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FaceMaeError } from '../core/errors.js';
import { listSourceRecords } from '../data/source.js';
import type { OnWarning } from '../data/image-folder.js';
import { createEmbedder } from '../loaders/embedders.js';
import { modelFingerprint } from '../loaders/model-fingerprint.js';
import {
  checkAttackerIndependence,
  firstImagesPerIdentity,
  type IrmTeacherRef,
} from '../protect/privacy-audit.js';
import type { Embedder, OnProgress } from '../types.js';
import { VERSION } from '../version.js';
import { attack, type AttackResult } from './attack.js';
import { createEmbeddingCache } from './embed.js';
import { protectionName, type Protection } from './protection.js';
import { createMaeInpainter, SHIPPED_MAE, type Inpainter } from './inpaint.js';
import { DEFAULT_PARROT, parrotBase, parrotData, trainParrot, type ParrotRecipe } from './parrot.js';
import { protectPublicSet, publicSubset } from './public-set.js';
import { fitsOnPublic, type AttackerSpec } from './suite.js';

export interface AuditOptions {
  original: string;
  protected: string;
  /** Needed by every attacker but the frozen ones. */
  protection?: Protection;
  attackers: readonly AttackerSpec[];
  /** The public set A (needed by the adaptive attackers). */
  public?: string;
  /** Images per identity of A protected and fitted on (default 4; null: all). */
  publicPerIdentity?: number | null;
  /** Attack only the first N images of each identity of B (default: all). */
  imagesPerIdentity?: number | null;
  /** Keeps protect(A) and the embedding cache for later audits (default: a temporary folder). */
  work?: string;
  /** The IRM teacher of a FaceMAE release: no attacker model may be it (unless allowSame). */
  irmTeacher?: string | IrmTeacherRef;
  allowSame?: boolean;
  /** The attacker's own seed (protect(A) and chance estimates); not the release's. Default 1. */
  seed?: number;
  search?: 'exact' | 'ann' | 'auto';
  onProgress?: OnProgress;
  onWarning?: OnWarning;
  onLog?: (message: string) => void;
  /**
   * FaceMAE's public reconstructor, which the attacker uses to fill the removed patches of a
   * masked release (default: the shipped model); a FaceMAE release names its own.
   */
  maeModel?: string;
  /** The parrot's fine-tuning recipe (default DEFAULT_PARROT). */
  parrot?: Partial<ParrotRecipe>;
}

export interface AuditResult extends AttackResult {
  protection: Protection | null;
  /** Per attacker model: whether it is the IRM teacher (only with allowSame). */
  attackerIsTeacher: Record<string, boolean>;
}

const shortHash = (v: unknown): string =>
  crypto.createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 12);

/** The attacker part of the embedding cache key: the model's content, and this version for bundled ones. */
export const attackerFingerprint = (model: string): string => `${modelFingerprint(model)}@${VERSION}`;

/** Runs the suite on one release; see the module comment. */
export async function auditRelease(opts: AuditOptions): Promise<AuditResult> {
  const models = [...new Set(opts.attackers.map((a) => a.model))];
  // every model is checked before anything is embedded, so a refusal costs nothing
  const attackerIsTeacher: Record<string, boolean> = {};
  for (const m of models)
    attackerIsTeacher[m] =
      opts.protection?.method !== 'facemae' && opts.protection !== undefined
        ? false
        : checkAttackerIndependence(m, opts.irmTeacher, {
            allowSame: opts.allowSame,
            onWarning: opts.onWarning,
          }).same;
  const adaptive = opts.attackers.some((a) => a.kind !== 'frozen');
  // a parrot on a model the engine cannot train is refused before any work
  for (const a of opts.attackers) if (a.kind === 'parrot') parrotBase(a.model);
  if (adaptive && !opts.protection)
    throw new FaceMaeError(
      `${opts.protected} does not say how it was protected (no config.json from distort or reconstruct), and the adaptive attackers must know it: pass --protection (e.g. noise:80, facemae:0.75)`,
      'E_CONFIG',
    );
  if (adaptive && !opts.public)
    throw new FaceMaeError(
      `the adaptive attackers (${opts.attackers
        .filter((a) => a.kind !== 'frozen')
        .map((a) => a.name)
        .join(', ')}) are fitted on a public set of other identities: pass --public DIR`,
      'E_CONFIG',
    );
  const temporary = !opts.work;
  const work = opts.work ?? fs.mkdtempSync(path.join(os.tmpdir(), 'facemae-audit-'));
  const seed = opts.seed ?? 1;
  const embedders = new Map<string, Embedder>();
  let inpainter: Inpainter | undefined;
  try {
    if (opts.protection?.method === 'mask' && opts.attackers.some((a) => fitsOnPublic(a.kind)))
      inpainter = await createMaeInpainter(opts.maeModel ?? SHIPPED_MAE, {
        patchSize: opts.protection.patchSize,
        fill: opts.protection.fill,
      });
    const per = opts.imagesPerIdentity ?? null;
    const keys =
      per === null ? undefined : firstImagesPerIdentity(await listSourceRecords(opts.original, opts), per);
    let publicPair;
    const parrots: Record<string, string> = {};
    if (adaptive && opts.public && opts.protection) {
      const pubPer = opts.publicPerIdentity === undefined ? 4 : opts.publicPerIdentity;
      const { keys: pubKeys, files } = publicSubset(await listSourceRecords(opts.public, opts), pubPer);
      // one folder per (protection and its model, seed, subset): a later audit of the same reuses it
      const protection = opts.protection;
      const name = `${protectionName(protection).replace(/[^a-z0-9.]+/gi, '-')}-seed${seed}-per${pubPer ?? 'all'}-${shortHash(
        { ...protection, model: protection.model ? modelFingerprint(protection.model) : null },
      )}`;
      const protectedA = await protectPublicSet({
        protection,
        data: opts.public,
        out: path.join(work, 'public', name),
        files,
        seed,
        onProgress: opts.onProgress,
      });
      publicPair = { original: opts.public, protected: protectedA, keys: pubKeys };
      for (const a of opts.attackers.filter((x) => x.kind === 'parrot')) {
        // and one parrot per (that, the model it starts from, the recipe)
        const dir = path.join(
          work,
          'parrot',
          `${name}-${shortHash({ model: attackerFingerprint(a.model), recipe: { ...DEFAULT_PARROT, ...opts.parrot } })}`,
        );
        const data = parrotData({
          original: opts.public,
          protected: protectedA,
          files,
          out: path.join(dir, 'data'),
        });
        opts.onLog?.(`${a.name}: fine-tuning on A ∪ protect(A) (${files.length * 2} images) in ${dir}`);
        parrots[a.model] = await trainParrot({
          model: a.model,
          data,
          out: path.join(dir, 'run'),
          recipe: opts.parrot,
          onProgress: opts.onProgress,
          onWarning: opts.onWarning,
        });
      }
    }
    const r = await attack({
      original: opts.original,
      protected: opts.protected,
      protection: opts.protection,
      attackers: opts.attackers,
      embedder: async (m) => {
        let e = embedders.get(m);
        if (!e) embedders.set(m, (e = await createEmbedder(m)));
        return e;
      },
      fingerprint: attackerFingerprint,
      public: publicPair,
      parrots,
      inpainter,
      keys,
      cache: createEmbeddingCache(path.join(work, 'cache', 'embeddings')),
      seed,
      search: opts.search,
      onProgress: opts.onProgress,
      onWarning: opts.onWarning,
      onLog: opts.onLog,
    });
    return { ...r, protection: opts.protection ?? null, attackerIsTeacher };
  } finally {
    inpainter?.dispose();
    for (const e of embedders.values()) await e.dispose();
    if (temporary) fs.rmSync(work, { recursive: true, force: true });
  }
}
