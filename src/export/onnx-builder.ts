/**
 * A minimal ONNX writer: the onnx.proto subset needed to serialise an inference graph
 * (ModelProto / GraphProto / NodeProto / AttributeProto / TensorProto / ValueInfoProto, field
 * numbers as in onnx/onnx.proto), encoded with protobufjs through the importer's schema, plus a
 * small builder that names intermediate values.
 */
import { getModelType } from '../models/onnx/onnx-proto.js';

// One onnx.proto subset serves the importer (reading) and this writer.
const ModelProto = getModelType();

export const DTYPE = { FLOAT: 1, INT8: 3, INT64: 7, BOOL: 9 } as const;
const ATTR = { FLOAT: 1, INT: 2, FLOATS: 6, INTS: 7 } as const;

export type AttrValue = number | number[] | { float: number } | { floats: number[] };
type Dim = number | string;

interface Node {
  input: string[];
  output: string[];
  name: string;
  op_type: string;
  attribute: Record<string, unknown>[];
}

/** Builds a graph; every op returns its (first) output name. */
export class OnnxGraphBuilder {
  private nodes: Node[] = [];
  private inits: Record<string, unknown>[] = [];
  private inputs: Record<string, unknown>[] = [];
  private outputs: Record<string, unknown>[] = [];
  private counter = 0;
  private constCache = new Map<string, string>();

  private fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  private static valueInfo(name: string, elemType: number, shape: Dim[]) {
    return {
      name,
      type: {
        tensor_type: {
          elem_type: elemType,
          shape: { dim: shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
        },
      },
    };
  }

  input(name: string, elemType: number, shape: Dim[]): string {
    this.inputs.push(OnnxGraphBuilder.valueInfo(name, elemType, shape));
    return name;
  }

  output(value: string, name: string, elemType: number, shape: Dim[]): void {
    this.op('Identity', [value], {}, name);
    this.outputs.push(OnnxGraphBuilder.valueInfo(name, elemType, shape));
  }

  /** A float32 initializer. */
  floatTensor(name: string, shape: number[], values: Float32Array): string {
    this.inits.push({
      name,
      dims: shape,
      data_type: DTYPE.FLOAT,
      raw_data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
    });
    return name;
  }

  /** An int8 initializer (quantised weights). */
  int8Tensor(name: string, shape: number[], values: Int8Array): string {
    this.inits.push({
      name,
      dims: shape,
      data_type: DTYPE.INT8,
      raw_data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
    });
    return name;
  }

  /** An int64 initializer (shapes, axes, indices), shared when equal. */
  int64(values: number[], shape: number[] = [values.length]): string {
    const key = `i64:${shape.join(',')}:${values.join(',')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = this.fresh('const_i64');
    const arr = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.inits.push({ name, dims: shape, data_type: DTYPE.INT64, raw_data: new Uint8Array(arr.buffer) });
    this.constCache.set(key, name);
    return name;
  }

  /** A float32 scalar/array constant, shared when equal. */
  float(values: number[] | number, shape?: number[]): string {
    const v = Array.isArray(values) ? values : [values];
    const s = shape ?? (Array.isArray(values) ? [v.length] : []);
    const key = `f32:${s.join(',')}:${v.join(',')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = this.floatTensor(this.fresh('const_f32'), s, Float32Array.from(v));
    this.constCache.set(key, name);
    return name;
  }

  op(
    opType: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
    outName?: string,
    numOutputs = 1,
  ): string {
    const outs = Array.from({ length: numOutputs }, (_, i) =>
      i === 0 && outName ? outName : this.fresh(opType.toLowerCase()),
    );
    const attribute = Object.entries(attrs).map(([name, v]) => {
      if (typeof v === 'number')
        return Number.isInteger(v) ? { name, type: ATTR.INT, i: v } : { name, type: ATTR.FLOAT, f: v };
      if (Array.isArray(v)) return { name, type: ATTR.INTS, ints: v };
      if ('float' in v) return { name, type: ATTR.FLOAT, f: v.float };
      return { name, type: ATTR.FLOATS, floats: v.floats };
    });
    this.nodes.push({
      input: inputs,
      output: outs,
      name: this.fresh(`n_${opType}`),
      op_type: opType,
      attribute,
    });
    return outs[0] as string;
  }

  /** All outputs of the last op added (for multi-output ops such as TopK). */
  lastOutputs(): string[] {
    return this.nodes[this.nodes.length - 1]?.output ?? [];
  }

  /** Serialises a ModelProto (IR version 8, default-domain opset `opset`). */
  encode(opts: { name: string; opset: number; doc?: string; metadata?: Record<string, string> }): Uint8Array {
    const msg = ModelProto.fromObject({
      ir_version: 8,
      producer_name: 'facemae',
      producer_version: '0.1.0',
      doc_string: opts.doc ?? '',
      opset_import: [{ domain: '', version: opts.opset }],
      metadata_props: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: {
        name: opts.name,
        node: this.nodes,
        initializer: this.inits,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return ModelProto.encode(msg).finish();
  }
}
