/**
 * `npm run bench -- embed`: the privacy audit's attacker embedding, ours vs Python on the same
 * model file. Ours is what `privacy` and `attack` run (src/loaders/embedders.ts `createEmbedder`):
 *  - 'faceplugin': fr_feature.onnx through onnxruntime-node on worker threads, one session each
 *    (src/loaders/onnx-pool.ts; the audit's default attacker);
 *  - 'tfjs:faceplugin': the same ONNX file imported into our engine (tfjs wasm + BLAS);
 *  - 'faceres', 'mobileface': the bundled tfjs graph models on our engine.
 * The peer (bench/peers/embed.py) runs each file as Python users would: the ONNX file through
 * onnxruntime, the graph models' model.json and weights through PyTorch (bench/peers/tfjs_graph.py;
 * there is no TensorFlow here). Both sides embed the same random 112×112 RGB images (sent to the
 * peer on stdin) in forward batches of `--batch`, at the engine's thread count; the first image's
 * embeddings are compared (`same model:` cosine), so a wrong peer graph shows.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initEngine, formatKernelProfile, resetKernelProfile } from '../src/engine/index.js';
import { createRng } from '../src/core/rng.js';
import { createEmbedder } from '../src/loaders/embedders.js';
import { isOnnxSpec, resolveOnnxSpec } from '../src/loaders/face-net.js';
import { GRAPH_MODELS } from '../src/loaders/graph-model-specs.js';
import {
  alternate,
  engineOptions,
  flags,
  num,
  printCpu,
  engineLine,
  reportRounds,
  runPeer,
  timeSteps,
  type Result,
} from './common.js';

const MODELS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../assets/models');
const SIDE = 112;
const FLAGS = ['models', 'images', 'batch', 'rounds', 'seed', 'blas', 'peer'] as const;
export const DEFAULT_EMBED_MODELS = ['faceplugin', 'tfjs:faceplugin', 'faceres', 'mobileface'];

/** The peer's description of `spec`'s file, or null when it has none (a train-fr run). */
function peerModel(spec: string): Record<string, unknown> | null {
  const inner = spec.startsWith('tfjs:') ? spec.slice(5) : spec;
  if (isOnnxSpec(inner)) {
    const { file, input } = resolveOnnxSpec(inner);
    return { runtime: 'onnxruntime', file, input: { ...input, size: input.inputSize } };
  }
  const g = GRAPH_MODELS[inner];
  if (!g) return null;
  return {
    runtime: 'pytorch',
    folder: path.join(MODELS, g.dir),
    output: g.output,
    input: { ...g.input, size: g.input.inputSize },
  };
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

export async function benchEmbed(argv: string[]): Promise<void> {
  const f = flags(argv, FLAGS);
  const models = (f.get('models') ?? DEFAULT_EMBED_MODELS.join(',')).split(',').filter(Boolean);
  const n = num(f, 'images', 256);
  const batch = num(f, 'batch', 32);
  const rounds = num(f, 'rounds', 1);
  const seed = num(f, 'seed', 0);
  if (n < batch || batch < 1) throw new Error(`--images (${n}) must be at least --batch (${batch}) >= 1`);
  printCpu();
  const info = await initEngine({ backend: 'wasm', ...engineOptions(f) });
  console.log(
    `embed: the audit's attacker embedding (createEmbedder(spec).embed), ${n} random ${SIDE}×${SIDE} RGB images ` +
      `per round in forward batches of ${batch} (one image per run where an ONNX file fixes the batch at 1), no flip view`,
  );
  console.log(
    `${engineLine(info)}; ONNX files on ${info.threads} worker threads, one onnxruntime session at 1 thread each`,
  );
  const rng = createRng(seed).fork('bench-images');
  const images = Uint8Array.from(rng.uniformArray(n * SIDE * SIDE * 3), (v) => Math.floor(v * 256));
  for (const spec of models) {
    console.log(`=== embed ${spec}`);
    const embedder = await createEmbedder(spec, { threads: info.threads, batchSize: batch });
    const first = (await embedder.embed(images.subarray(0, batch * SIDE * SIDE * 3), batch)).slice(
      0,
      embedder.embeddingDim,
    ); // the warm-up, and image 0's embedding
    const pm = peerModel(spec);
    const peer =
      f.get('peer') === 'off'
        ? null
        : pm
          ? () => {
              const p = runPeer('embed', { ...pm, images: n, batch, threads: info.threads }, images);
              if (p) {
                const theirs = p.first as number[];
                console.log(
                  `${String(p.runtime)}, threads ${String(p.threads)}; same model: cosine of image 0's embeddings ours/peer ` +
                    (theirs.length === first.length
                      ? cosine(first, theirs).toFixed(6)
                      : `n/a (${first.length}-d vs ${theirs.length}-d)`),
                );
              }
              return p;
            }
          : () => {
              console.log(`peer: no Python peer for ${spec}`);
              return null;
            };
    const { ours, peers } = await alternate(
      rounds,
      async (): Promise<Result> => {
        const r = await timeSteps(
          async () => {
            await embedder.embed(images, n);
          },
          n,
          0,
          1,
          resetKernelProfile,
        );
        if (process.env.FACEMAE_PROFILE === '1') console.log(formatKernelProfile(20));
        return r;
      },
      peer,
    );
    await embedder.dispose();
    reportRounds(`embed ${spec}`, ours, peers, pm?.runtime === 'onnxruntime' ? 'onnxruntime' : 'pytorch');
  }
  console.log('(peak RSS: ours is the process peak so far, over every model embedded before)');
}
