/**
 * A protection: what protectDataset applies, and what the attacker knows about a release
 * (Kerckhoffs): the method and strength, and for FaceMAE the public reconstructor. Not the
 * release's seeds. Read from the config.json a protecting verb writes in its run folder, or given
 * as `METHOD:STRENGTH`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FaceMaeError } from '../core/errors.js';
import { DISTORTION_METHODS, checkDistortionSpec, type DistortionMethod } from './distortions.js';
import { checkPasteBack } from '../models/mae/mae.js';

export type ProtectionMethod = 'original' | DistortionMethod | 'facemae';
export const PROTECTION_METHODS: readonly ProtectionMethod[] = ['original', ...DISTORTION_METHODS, 'facemae'];

export interface Protection {
  method: ProtectionMethod;
  /** mask / facemae: mask ratio; blur: sigma; pixelate: block; noise: std (0 for original). */
  strength: number;
  /** facemae: the reconstructor (train-mae run or compact export). */
  model?: string;
  /** facemae: weight of the real pixels on the visible patches (absent: 1, pasted back). */
  pasteBack?: number;
  /** mask only: patch side and fill value, as distort used them. */
  patchSize?: number;
  fill?: number;
}

export const protectionName = (p: Protection): string =>
  p.method === 'original'
    ? 'original'
    : `${p.method}:${p.strength}${p.pasteBack !== undefined && p.pasteBack !== 1 ? `:${p.pasteBack}` : ''}`;

/**
 * `original` | `METHOD:STRENGTH` (e.g. `noise:80`, `facemae:0.75`; FaceMAE's model given apart) |
 * `facemae:RATIO:PASTEBACK` (e.g. `facemae:0.75:0`, the decoder's output everywhere).
 */
export function parseProtection(spec: string, where = '--protection', model?: string): Protection {
  const s = spec.trim();
  if (s === 'original') return { method: 'original', strength: 0 };
  const m = /^([a-z]+):([0-9.eE+-]+)(?::([0-9.eE+-]+))?$/.exec(s);
  const method = m?.[1] as ProtectionMethod | undefined;
  const strength = Number(m?.[2]);
  const pasteBack = m?.[3] === undefined ? undefined : Number(m[3]);
  if (
    !m ||
    !method ||
    !PROTECTION_METHODS.includes(method) ||
    !Number.isFinite(strength) ||
    (pasteBack !== undefined && (method !== 'facemae' || !Number.isFinite(pasteBack)))
  )
    throw new FaceMaeError(
      `${where} "${spec}": use original, METHOD:STRENGTH with METHOD one of ${PROTECTION_METHODS.filter((x) => x !== 'original').join(', ')} (e.g. noise:80, facemae:0.75), or facemae:RATIO:PASTEBACK (e.g. facemae:0.75:0)`,
      'E_CONFIG',
    );
  return checkProtection(
    {
      method,
      strength,
      ...(method === 'facemae' && model ? { model } : {}),
      ...(pasteBack !== undefined ? { pasteBack } : {}),
    },
    where,
  );
}

/** Validates a protection's fields; errors name `where`. */
export function checkProtection(p: Protection, where: string): Protection {
  if (p.method === 'facemae') {
    if (!(p.strength > 0 && p.strength < 1))
      throw new FaceMaeError(
        `${where}: FaceMAE's mask ratio must be in (0, 1), got ${p.strength}`,
        'E_CONFIG',
      );
    if (p.pasteBack !== undefined) checkPasteBack(p.pasteBack, `${where}: pasteBack`);
  } else if (p.method !== 'original') {
    try {
      checkDistortionSpec({ method: p.method, strength: p.strength });
    } catch (e) {
      throw new FaceMaeError(`${where}: ${(e as Error).message}`, 'E_CONFIG', { cause: e });
    }
  }
  return p;
}

/**
 * The protection a protected set was made with, from the config.json that `distort` writes in its
 * output folder or `reconstruct` writes in OUT (the images being in OUT/images); undefined when
 * neither is there (the caller then needs `--protection`).
 */
export function readProtection(dir: string): Protection | undefined {
  const candidates = [dir, path.dirname(path.resolve(dir))];
  for (const d of candidates) {
    const file = path.join(d, 'config.json');
    if (!fs.existsSync(file)) continue;
    let doc: { command?: string; config?: Record<string, unknown> };
    try {
      doc = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof doc;
    } catch {
      continue;
    }
    const c = doc.config ?? {};
    if (doc.command === 'distort' && typeof c.method === 'string' && typeof c.strength === 'number')
      return checkProtection(
        {
          method: c.method as DistortionMethod,
          strength: c.strength,
          ...(typeof c.patchSize === 'number' ? { patchSize: c.patchSize } : {}),
          ...(typeof c.fill === 'number' ? { fill: c.fill } : {}),
        },
        file,
      );
    if (doc.command === 'reconstruct' && typeof c.maskRatio === 'number')
      return checkProtection(
        {
          method: 'facemae',
          strength: c.maskRatio,
          ...(typeof c.model === 'string' && c.model !== '(in memory)' ? { model: c.model } : {}),
          ...(c.pasteBack !== undefined && c.pasteBack !== 1 ? { pasteBack: c.pasteBack as number } : {}),
        },
        file,
      );
  }
  return undefined;
}
