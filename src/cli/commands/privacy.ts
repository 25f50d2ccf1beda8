import type { Command } from 'commander';
import { auditRelease } from '../../attack/audit.js';
import { parseProtection, protectionName, readProtection } from '../../attack/protection.js';
import { parseAttackerSuite } from '../../attack/suite.js';
import { findIrmTeacherRef } from '../../protect/privacy-audit.js';
import { nonNegInt, posInt, str, strList, z } from '../../config/schema.js';
import {
  addConfigOptions,
  contextOf,
  resolveVerbConfig,
  type ConfigFlag,
  type ConfigSources,
} from '../context.js';
import { printJson } from '../logger.js';
import { createProgress, type ProgressBar } from '../progress.js';

const SCHEMA = z.strictObject({
  original: str(),
  protected: str(),
  attackers: strList().min(1),
  public: str().optional(),
  /** Images per identity of A the attacker protects and fits on (null: all). */
  publicPerIdentity: posInt().nullable().optional(),
  imagesPerIdentity: posInt().nullable().optional(),
  /** original | METHOD:STRENGTH; absent: read from the release's config.json. */
  protection: str().optional(),
  maeModel: str().optional(),
  work: str().optional(),
  irmTeacher: str().optional(),
  allowSameAttacker: z.boolean(),
  search: z.enum(['exact', 'ann', 'auto']),
  seed: nonNegInt(),
});
type PrivacyConfig = z.infer<typeof SCHEMA>;

const DEFAULTS: PrivacyConfig = {
  original: '',
  protected: '',
  attackers: ['suite'],
  allowSameAttacker: false,
  search: 'auto',
  seed: 1,
};

const FLAGS: ConfigFlag[] = [
  {
    flag: '--original <dir>',
    key: 'original',
    help: 'original identity folders or .rec/.idx (the gallery)',
    required: true,
  },
  {
    flag: '--protected <dir>',
    key: 'protected',
    help: 'the release: a distort or reconstruct output (its run folder or images), same <identity>/<name> layout (the probes)',
    required: true,
  },
  {
    flag: '--attacker <spec>',
    key: 'attackers',
    help: 'attackers, comma-separated or repeated: MODEL (frozen) | MODEL+reversal | MODEL+adaptation | MODEL+pooling | MODEL+parrot (fine-tuned on A ∪ protect(A); mobileface or a train-fr run) | suite:MODEL (the first four) | suite (= suite:mobileface); MODEL: mobileface | faceres | faceplugin | FILE.onnx | RUN_DIR',
  },
  {
    flag: '--public <dir>',
    key: 'public',
    help: 'public faces of other identities (set A) the adaptive attackers fit on',
  },
  {
    flag: '--public-per-identity <n>',
    key: 'publicPerIdentity',
    help: 'images per identity of A the attacker protects and fits on',
    default: '4',
  },
  {
    flag: '--images-per-identity <n>',
    key: 'imagesPerIdentity',
    help: 'attack only the first N images of each identity',
    default: 'all',
  },
  {
    flag: '--protection <spec>',
    key: 'protection',
    help: "the release's protection, original | METHOD:STRENGTH",
    default: "read from the release's config.json",
  },
  {
    flag: '--mae-model <run>',
    key: 'maeModel',
    help: "FaceMAE's public model: for a FaceMAE release whose config.json does not name it, and to fill the removed patches of a masked release",
    default: 'the shipped model',
  },
  {
    flag: '--work <dir>',
    key: 'work',
    help: 'keep protect(A) and the embedding cache here for later audits',
    default: 'a temporary folder',
  },
  {
    flag: '--irm-teacher <model>',
    key: 'irmTeacher',
    help: 'the IRM teacher FaceMAE used',
    default: "read from the protected set's config",
  },
  {
    flag: '--allow-same-attacker',
    key: 'allowSameAttacker',
    help: 'run even when an attacker model is the IRM teacher (prints a loud warning)',
  },
  {
    flag: '--search <mode>',
    key: 'search',
    help: 'gallery search',
    default: 'auto, ANN (HNSW) from 50,000 gallery images',
  },
  {
    flag: '--seed <n>',
    key: 'seed',
    help: "the attacker's own seed, for protect(A) and the chance estimate",
  },
];

export function registerPrivacy(program: Command): void {
  const verb = program
    .command('privacy')
    .description(
      "the privacy audit: attackers that know the protection search each protected image among the originals; the worst case is the release's privacy",
    );
  addConfigOptions(verb, SCHEMA, DEFAULTS, FLAGS, 'publicPerIdentity=8').action(
    async (flags: ConfigSources, cmd: Command) => {
      const { opts, log } = contextOf(cmd);
      const o = resolveVerbConfig(SCHEMA, DEFAULTS, flags, FLAGS);
      const attackers = parseAttackerSuite(o.attackers);
      const read = readProtection(o.protected);
      const protection = o.protection
        ? parseProtection(o.protection, '--protection', o.maeModel ?? read?.model)
        : read && o.maeModel && read.method === 'facemae'
          ? { ...read, model: o.maeModel }
          : read;
      const teacher = o.irmTeacher ?? findIrmTeacherRef(o.protected);
      let bar: ProgressBar | undefined;
      let label = '';
      const r = await auditRelease({
        original: o.original,
        protected: o.protected,
        protection,
        attackers,
        public: o.public,
        publicPerIdentity: o.publicPerIdentity,
        imagesPerIdentity: o.imagesPerIdentity,
        work: o.work,
        maeModel: o.maeModel,
        irmTeacher: teacher,
        allowSame: o.allowSameAttacker,
        seed: o.seed,
        search: o.search,
        onWarning: log.warn,
        onLog: log.info,
        onProgress: (d, t, s) => {
          if (s !== label || !bar) {
            bar?.finish();
            label = s ?? '';
            bar = createProgress(label, t, { quiet: opts.quiet });
          }
          if (d < t) bar.update(d);
          else {
            bar.finish();
            bar = undefined;
          }
        },
      });
      if (opts.json) {
        printJson({
          protection: r.protection,
          attackers: r.attackers,
          worst: r.worst,
          attackerIsTeacher: r.attackerIsTeacher,
          irmTeacher: (typeof teacher === 'string' ? teacher : teacher?.spec) ?? null,
        });
        return;
      }
      const pct = (x: number | undefined) => `${((x ?? NaN) * 100).toFixed(1)}%`;
      log.result(
        r.protection
          ? `release protected with ${protectionName(r.protection)}`
          : 'protection not known (frozen attackers only)',
      );
      for (const m of Object.values(r.attackers)) {
        const unit = m.unit === 'label' ? 'labels (pooled)' : 'probes';
        log.result(
          `attacker ${m.attacker}: ${m.numProbes} ${unit} vs ${m.numGallery} originals of ${m.numIdentities} identities${m.fitted ? ` (chosen on A: ${m.fitted.reversal}${m.fitted.alpha !== undefined ? `, ridge ${m.fitted.alpha.toPrecision(3)}` : ''})` : ''}`,
        );
        log.result(
          `  identity top-1 ${pct(m.identityTopK.top1)}   (chance ${pct(m.chance.identityTopK.top1)})`,
        );
        if (m.unit === 'probe')
          log.result(`  instance top-1 ${pct(m.instanceTop1)}   (chance ${pct(m.chance.instanceTop1)})`);
      }
      const w = r.worst;
      log.result(
        `worst case over ${Object.keys(r.attackers).length} attacker(s): identity top-1 ${pct(w.identityTop1)} [95% ${pct(w.ci95[0])}, ${pct(w.ci95[1])}] (${w.attacker})`,
      );
    },
  );
}
