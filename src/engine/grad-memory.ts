/**
 * Frees memory during backprop. tfjs-core's tape keeps, until the whole backward pass ends, every
 * node's saved activations, every intermediate gradient (dy) and the tensors a gradient function
 * computes eagerly (outside its closures): an IResNet step peaked at ~3× its forward activations,
 * and batch 16 at 112 px overran 32-bit wasm memory. Each registered gradient is wrapped so that,
 * once a node's input gradients are computed (at the next node), its saved tensors, its dys (when
 * produced by an earlier wrapped node) and its eager temporaries are disposed — as PyTorch frees
 * activations during backward. Higher-order gradients (gradientDepth > 0) are left untouched.
 */
import * as tf from '@tensorflow/tfjs-core';

type Grads = Record<string, () => tf.Tensor>;
type GradFunc = (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => Grads;

interface EngineInternals {
  state: { gradientDepth: number; activeScope: { track: tf.Tensor[] } | null };
  startScope(name?: string): void;
  endScope(result?: tf.TensorContainer): void;
}

let pending: tf.Tensor[] = [];
/** Tensors returned by the closures of the current node: they live on in the gradient map. */
const returned = new Set<number>();
/** Gradients produced by wrapped closures; when one arrives as a node's dy it can be freed after. */
let produced = new Set<number>();
let installed = false;
let enabled = true;

function flush(): void {
  for (const t of pending) if (!returned.has(t.id) && !t.isDisposed) t.dispose();
  pending = [];
  returned.clear();
  if (produced.size > 1 << 16) produced = new Set(); // ids of final grads accumulate otherwise
}

function wrap(orig: GradFunc): GradFunc {
  return (dy, saved, attrs) => {
    const eng = tf.engine() as unknown as EngineInternals;
    if (!enabled || eng.state.gradientDepth !== 0) return orig(dy, saved, attrs);
    flush();
    eng.startScope('grad-eager');
    let eager: tf.Tensor[] = [];
    let grads: Grads;
    try {
      grads = orig(dy, saved, attrs);
    } finally {
      eager = [...(eng.state.activeScope?.track ?? [])];
      eng.endScope(eager); // keep them alive (tracked by the parent scope) until this node is done
    }
    for (const d of Array.isArray(dy) ? dy : [dy]) {
      if (d && produced.delete(d.id)) pending.push(d);
    }
    pending.push(...eager, ...saved);
    const out: Grads = {};
    for (const [name, fn] of Object.entries(grads)) {
      out[name] = () => {
        const t = fn();
        returned.add(t.id);
        produced.add(t.id);
        return t;
      };
    }
    return out;
  };
}

/** Wraps every registered gradient once (call after the gradients are registered). */
export function installGradientMemorySaver(): void {
  if (installed) return;
  installed = true;
  installTapePruning();
  // tfjs keeps its registries on the global object (shared by every copy of tfjs-core)
  const registry = (globalThis as { _tfGlobals?: Map<string, unknown> })._tfGlobals?.get('gradRegistry') as
    Map<string, tf.GradConfig> | undefined;
  const names = registry ? [...registry.keys()] : [];
  for (const name of names) {
    const cfg = tf.getGradient(name);
    if (!cfg?.gradFunc) continue;
    tf.registerGradient({
      ...cfg,
      gradFunc: wrap(cfg.gradFunc as unknown as GradFunc) as unknown as tf.GradFunc,
    });
  }
}

interface TapeEngine {
  state: { gradientDepth: number };
  gradients(f: () => tf.Tensor, xs: tf.Tensor[], dy?: tf.Tensor, allowNoGradients?: boolean): unknown;
  addTapeNode(
    kernelName: string,
    inputs: tf.NamedTensorMap,
    outputs: tf.Tensor[],
    gradientsFunc: unknown,
    saved: tf.Tensor[],
    attrs: tf.NamedAttrMap,
  ): void;
}

/** Ids of the tensors the current outermost gradients() call differentiates and their descendants. */
let onPath: Set<number> | null = null;

/**
 * For stock tfjs gradients: input name -> the saved inputs whose values that input's gradient
 * reads (each gradient also reads every saved input's shape). A saved input no on-path input's
 * gradient reads is kept as its shape only. tfjs's Add saves both operands to read their shapes,
 * and Conv2D saves x for the filter gradient alone: through a frozen network (the IRM teacher,
 * whose weights are constants) a conv's input, its raw output (saved by the bias Add) and every
 * residual operand lived to the end of the forward, where PyTorch keeps none of them.
 */
const SAVED_VALUES_READ: Record<string, Record<string, readonly string[]>> = {
  Add: { a: [], b: [] },
  Sub: { a: [], b: [] },
  Multiply: { a: ['b'], b: ['a'] },
  RealDiv: { a: ['b'], b: ['a', 'b'] },
  BatchMatMul: { a: ['b'], b: ['a'] },
  Conv2D: { x: ['filter'], filter: ['x'] },
  DepthwiseConv2dNative: { x: ['filter'], filter: ['x'] },
  Reshape: { x: [] },
  ExpandDims: { input: [] },
  Slice: { x: [] },
  PadV2: { x: [] },
  Sum: { x: [] },
  Mean: { x: [] },
};

/** What a gradient function gets in place of a saved tensor whose values it never reads. */
function shapeOnly(t: tf.Tensor): tf.Tensor {
  const { shape, dtype, size, rank } = t;
  return { shape, dtype, size, rank, id: -1, isDisposed: true, dispose() {} } as unknown as tf.Tensor;
}

/**
 * `saved` of a node of `kernelName` with the tensors no on-path input's gradient reads replaced
 * by their shapes (and released); null when the kernel is not in SAVED_VALUES_READ or nothing is freed.
 */
function pruneSaved(
  kernelName: string,
  inputs: tf.NamedTensorMap,
  saved: tf.Tensor[],
  path: Set<number>,
): tf.Tensor[] | null {
  const reads = SAVED_VALUES_READ[kernelName];
  const names = tf.getGradient(kernelName)?.inputsToSave;
  // outputsToSave entries follow the inputs; a kernel saving outputs is not in the table
  if (!reads || !names || names.length !== saved.length) return null;
  const needed = new Set<string>();
  for (const [name, t] of Object.entries(inputs)) {
    if (t != null && path.has(t.id)) for (const r of reads[name] ?? names) needed.add(r);
  }
  if (names.every((n) => needed.has(n))) return null;
  return saved.map((t, i) => {
    if (needed.has(names[i]!)) return t;
    const s = shapeOnly(t);
    t.dispose();
    return s;
  });
}

/**
 * Records on the tape only the nodes that descend from the tensors being differentiated (the
 * model's variables). tfjs records every op run inside a gradient scope and keeps each node's
 * saved tensors to the end of the step, although a node with no such input never gets a gradient
 * (tfjs drops it only when the backward starts): the MAE's loss target, its per-patch statistics
 * and the input normalisation, ~30 MB at batch 64, were held through the whole step that way.
 * Such a node is now not recorded and its saved tensors are released at once. Off for nested
 * gradients (higher-order: the inner backward's nodes read clones made at depth 2).
 */
function installTapePruning(): void {
  const eng = tf.engine() as unknown as TapeEngine;
  const gradients = eng.gradients.bind(eng);
  const addTapeNode = eng.addTapeNode.bind(eng);
  eng.gradients = (f, xs, dy, allow) => {
    if (eng.state.gradientDepth !== 0) {
      onPath = null; // nested: record everything from here on
      return gradients(f, xs, dy, allow);
    }
    onPath = enabled ? new Set(xs.map((x) => x.id)) : null;
    try {
      return gradients(f, xs, dy, allow);
    } finally {
      onPath = null;
    }
  };
  eng.addTapeNode = (kernelName, inputs, outputs, gradientsFunc, saved, attrs) => {
    if (onPath && eng.state.gradientDepth === 1) {
      if (!Object.values(inputs).some((t) => t != null && onPath!.has(t.id))) {
        for (const t of saved ?? []) t.dispose();
        return;
      }
      for (const t of outputs) onPath.add(t.id);
      if (saved?.length) saved = pruneSaved(kernelName, inputs, saved, onPath) ?? saved;
    }
    addTapeNode(kernelName, inputs, outputs, gradientsFunc, saved, attrs);
  };
}

/** Turns the early freeing on or off (e.g. to compare memory); on by default. */
export function setGradientMemorySaver(on: boolean): void {
  enabled = on;
}
