/**
 * The page: loads the three models at start (after that no request is made), takes photos or a
 * folder, aligns, masks and reconstructs them in batches, shows original | masked | reconstruction,
 * and zips the reconstructions as `<identity>/<file>` with manifest.jsonl.
 * `window.facemae` exposes the state and results to the browser test.
 */
import { strToU8, zipSync, type Zippable } from 'fflate';
import { FACEPLUGIN_FILES, facepluginDetectorFrom } from '../../src/align/faceplugin-core.js';
import type { FaceDetector } from '../../src/align/types.js';
import { lenKeepFor } from '../../src/models/mae/masking.js';
import type { PageApi, PageState, RunSummary } from './api.js';
import { decodeImage, encodeImage, outputName, toCanvas } from './image.js';
import {
  alignPhotoIn,
  reconstructBatch,
  type Aligned,
  type DetectMode,
  type ModelInfo,
  type PhotoIn,
  type Protected,
} from './protect.js';
import { loadOrt, openModel, runnerOf, type OrtModule } from './runtime.js';

const BATCH = 8;
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const statusEl = $<HTMLParagraphElement>('status');
const runBtn = $<HTMLButtonElement>('run');
const dlBtn = $<HTMLButtonElement>('download');
const resultsEl = $<HTMLElement>('results');

interface Picked {
  file: File;
  key: string;
  identity: string;
}

const state: PageState & { picked: Picked[]; info?: ModelInfo } = { status: 'loading', picked: [] };

let ort: OrtModule | undefined;
let mae: Awaited<ReturnType<typeof openModel>> | undefined;
let detector: FaceDetector | undefined;

function setStatus(s: typeof state.status, text: string): void {
  state.status = s;
  document.body.dataset.state = s;
  statusEl.textContent = text;
}

/** Keys as the CLI's: the path under the picked folder (`<identity>/<file>`); loose photos go under the identity field. */
function pick(files: FileList | null, loose: boolean): void {
  const identity = $<HTMLInputElement>('identity').value.trim() || 'person';
  state.picked = [...(files ?? [])]
    .filter((f) => f.type.startsWith('image/') || /\.(jpe?g|png|bmp|webp|gif)$/i.test(f.name))
    .map((file) => {
      const parts = (file.webkitRelativePath || file.name).split('/');
      if (!loose && parts.length >= 3) {
        const rel = parts.slice(1);
        return { file, key: rel.join('/'), identity: rel[0] as string };
      }
      return { file, key: `${identity}/${file.name}`, identity };
    })
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  runBtn.disabled = state.status === 'loading' || state.picked.length === 0;
  statusEl.textContent = `${state.picked.length} photo(s) selected`;
}

function show(r: Protected, patch: number): void {
  const fig = document.createElement('figure');
  fig.className = 'face';
  const row = document.createElement('div');
  row.className = 'row';
  row.append(toCanvas(r.face), toCanvas(r.face, { mask: r.mask, patch }), toCanvas(r.reconstruction));
  const cap = document.createElement('figcaption');
  cap.textContent = r.key;
  fig.append(row, cap);
  resultsEl.append(fig);
}

async function run(): Promise<RunSummary> {
  const info = state.info!;
  const seed = Number($<HTMLInputElement>('seed').value);
  const maskRatio = Number($<HTMLInputElement>('ratio').value);
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`seed must be a whole number ≥ 0, got ${seed}`);
  lenKeepFor(info.numPatches, maskRatio); // throws a clear message on a bad ratio
  const pasteBack = Number($<HTMLInputElement>('pasteback').value);
  if (!(pasteBack >= 0 && pasteBack <= 1))
    throw new Error(`paste-back must be a number from 0 to 1, got ${$<HTMLInputElement>('pasteback').value}`);
  const mode = $<HTMLSelectElement>('detect').value as DetectMode;
  resultsEl.replaceChildren();
  dlBtn.disabled = true;
  const t0 = performance.now();
  let modelMs = 0;
  const results: Protected[] = [];
  const noFace: RunSummary['noFace'] = [];
  let pending: Array<Aligned & { face: NonNullable<Aligned['face']> }> = [];
  const flush = async () => {
    if (pending.length === 0) return;
    const t = performance.now();
    const items = pending.map((a) => ({ ...a, output: outputName(a.key) }));
    pending = [];
    const done = await reconstructBatch(ort!, mae!, info, items, seed, maskRatio, pasteBack);
    modelMs += performance.now() - t;
    for (const r of done) {
      results.push(r);
      show(r, info.patchSize);
    }
    statusEl.textContent = `protected ${results.length} of ${state.picked.length}…`;
  };
  for (const p of state.picked) {
    let photo: PhotoIn;
    try {
      photo = { key: p.key, identity: p.identity, image: await decodeImage(p.file) };
    } catch (e) {
      noFace.push({ path: p.key, reason: `unreadable: ${(e as Error).message}` });
      continue;
    }
    const a = await alignPhotoIn(photo, mode, detector);
    if (!a.face) noFace.push({ path: p.key, reason: 'no-face' });
    else pending.push({ ...a, face: a.face });
    if (pending.length >= BATCH) await flush();
  }
  await flush();
  return {
    seed,
    maskRatio,
    pasteBack,
    results,
    noFace,
    seconds: (performance.now() - t0) / 1000,
    modelSeconds: modelMs / 1000,
  };
}

/** The zip: `<identity>/<file>` reconstructions, manifest.jsonl (one line each), no-face.jsonl when some had none. */
async function zipBytes(): Promise<Uint8Array> {
  const last = state.last;
  if (!last) throw new Error('nothing protected yet');
  const files: Zippable = {};
  for (const r of last.results)
    files[r.manifest.output] = [await encodeImage(r.reconstruction, r.manifest.output), { level: 0 }];
  files['manifest.jsonl'] = strToU8(last.results.map((r) => JSON.stringify(r.manifest)).join('\n') + '\n');
  if (last.noFace.length > 0)
    files['no-face.jsonl'] = strToU8(last.noFace.map((x) => JSON.stringify(x)).join('\n') + '\n');
  return zipSync(files);
}

async function download(): Promise<void> {
  const bytes = await zipBytes();
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/zip' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = 'facemae-protected.zip';
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function start(): Promise<void> {
  setStatus('loading', 'Loading models…');
  const res = await fetch('./models/facemae.json');
  if (!res.ok) throw new Error(`cannot load models/facemae.json: HTTP ${res.status}`);
  const info = (await res.json()) as ModelInfo;
  ort = await loadOrt();
  const [m, det, lmk] = await Promise.all([
    openModel(ort, './models/facemae.onnx'),
    openModel(ort, `./models/${FACEPLUGIN_FILES.detect}`),
    openModel(ort, `./models/${FACEPLUGIN_FILES.landmark}`),
  ]);
  if (!m.inputNames.includes('keep') || !m.inputNames.includes('paste_back'))
    throw new Error('models/facemae.onnx lacks the keep or paste_back input (export it with --keep-input)');
  mae = m;
  detector = facepluginDetectorFrom(runnerOf(ort, det), runnerOf(ort, lmk));
  state.info = info;
  $<HTMLInputElement>('ratio').value = String(info.maskRatio);
  runBtn.disabled = state.picked.length === 0;
  setStatus(
    'ready',
    `Ready (${info.source}; ${ort.env.wasm.numThreads} thread(s)). Nothing you pick leaves this device.`,
  );
}

$<HTMLInputElement>('files').addEventListener('change', (e) =>
  pick((e.target as HTMLInputElement).files, true),
);
$<HTMLInputElement>('folder').addEventListener('change', (e) =>
  pick((e.target as HTMLInputElement).files, false),
);
runBtn.addEventListener('click', () => {
  runBtn.disabled = true;
  setStatus('running', 'Working…');
  run()
    .then((s) => {
      state.last = s;
      const rate = s.results.length / s.seconds;
      const missing = s.noFace.length
        ? `; ${s.noFace.length} without a face: ${s.noFace.map((x) => x.path).join(', ')}`
        : '';
      setStatus(
        'done',
        `Protected ${s.results.length} face(s) in ${s.seconds.toFixed(2)} s (${rate.toFixed(1)} img/s)${missing}.`,
      );
      dlBtn.disabled = s.results.length === 0;
    })
    .catch((e: unknown) => {
      state.error = (e as Error).message;
      setStatus('error', `Error: ${state.error}`);
    })
    .finally(() => {
      runBtn.disabled = state.picked.length === 0;
    });
});
dlBtn.addEventListener('click', () => {
  download().catch((e: unknown) => setStatus('error', `Error: ${(e as Error).message}`));
});

declare global {
  interface Window {
    facemae: PageApi;
  }
}
window.facemae = { state, zipBytes };

start().catch((e: unknown) => {
  state.error = (e as Error).message;
  setStatus('error', `Error: ${state.error}`);
});
