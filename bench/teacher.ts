/**
 * The IRM teacher for the PyTorch peer: the ONNX graph `loadFaceNet` imports (node list, attributes,
 * initializer shapes) as JSON, and its float weights as one little-endian float32 blob for the
 * peer's stdin. The peer rebuilds the same graph in PyTorch from these (bench/peers/onnx_graph.py),
 * since onnx2torch is not packaged for Debian and nothing may be downloaded at run time.
 */
import fs from 'node:fs';
import { resolveOnnxSpec } from '../src/loaders/face-net.js';
import { parseOnnxModel, type OnnxAttribute } from '../src/models/onnx/onnx-proto.js';

export interface PeerTeacher {
  graph: {
    file: string;
    input: { name: string; channelOrder: string; mean: number; std: number; size: number };
    output: string;
    nodes: { op: string; inputs: string[]; outputs: string[]; attrs: Record<string, unknown> }[];
    /** Float initializers: offset and length in floats into `weights`. */
    floats: Record<string, { dims: number[]; offset: number; length: number }>;
    /** Integer initializers (shapes, axes). */
    ints: Record<string, { dims: number[]; values: number[] }>;
  };
  weights: Uint8Array;
}

const attrValue = (a: OnnxAttribute): unknown => a.ints ?? a.floats ?? a.i ?? a.f ?? a.s ?? null;

/** 'faceplugin' | FILE.onnx -> the graph and weights the peer needs. */
export function onnxTeacherForPeer(spec: string): PeerTeacher {
  const { file, input } = resolveOnnxSpec(spec);
  const g = parseOnnxModel(fs.readFileSync(file));
  const floats: PeerTeacher['graph']['floats'] = {};
  const ints: PeerTeacher['graph']['ints'] = {};
  const parts: Float32Array[] = [];
  let offset = 0;
  for (const [name, t] of g.initializers) {
    if (t.data instanceof Float32Array) {
      floats[name] = { dims: t.dims, offset, length: t.data.length };
      parts.push(t.data);
      offset += t.data.length;
    } else ints[name] = { dims: t.dims, values: Array.from(t.data) };
  }
  const all = new Float32Array(offset);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return {
    graph: {
      file,
      input: {
        name: g.inputs[0]?.name ?? 'input',
        channelOrder: input.channelOrder,
        mean: input.mean,
        std: input.std,
        size: input.inputSize,
      },
      output: g.outputs[0]?.name ?? 'output',
      nodes: g.nodes.map((n) => ({
        op: n.opType,
        inputs: n.inputs,
        outputs: n.outputs,
        attrs: Object.fromEntries([...n.attrs].map(([k, a]) => [k, attrValue(a)])),
      })),
      floats,
      ints,
    },
    weights: new Uint8Array(all.buffer),
  };
}
