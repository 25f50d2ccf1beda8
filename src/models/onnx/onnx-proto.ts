/**
 * The subset of onnx/onnx.proto (field numbers as in ONNX IR version 8+) needed to read a
 * convolutional face-recognition model: graph, nodes, attributes, initializers and value infos.
 * Decoded with protobufjs from an in-source schema so no .proto file is read at run time.
 */
import protobuf from 'protobufjs';

const SCHEMA = `
syntax = "proto2";
package onnx;
message AttributeProto {
  enum AttributeType { UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5;
    FLOATS = 6; INTS = 7; STRINGS = 8; TENSORS = 9; GRAPHS = 10; SPARSE_TENSOR = 11; SPARSE_TENSORS = 12;
    TYPE_PROTO = 13; TYPE_PROTOS = 14; }
  optional string name = 1;
  optional string ref_attr_name = 21;
  optional string doc_string = 13;
  optional AttributeType type = 20;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  optional GraphProto g = 6;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
  repeated TensorProto tensors = 10;
  repeated GraphProto graphs = 11;
}
message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
}
message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  optional string domain = 7;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
}
message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}
message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}
message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated StringStringEntryProto metadata_props = 14;
}
message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}
message TensorProto {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  repeated float float_data = 4 [packed = true];
  repeated int32 int32_data = 5 [packed = true];
  repeated bytes string_data = 6;
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8;
  optional string doc_string = 12;
  optional bytes raw_data = 9;
  repeated double double_data = 10 [packed = true];
  repeated uint64 uint64_data = 11 [packed = true];
  optional int32 data_location = 14;
}
message TensorShapeProto {
  message Dimension {
    optional int64 dim_value = 1;
    optional string dim_param = 2;
    optional string denotation = 3;
  }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  optional Tensor tensor_type = 1;
  optional string denotation = 6;
}
`;

/** ONNX TensorProto.DataType values this importer reads. */
export const ONNX_DTYPE = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, DOUBLE: 11 } as const;

export interface OnnxTensor {
  name: string;
  dims: number[];
  dataType: number;
  /** float32 for FLOAT/DOUBLE data, Int32 for integer data (int64 narrowed: shapes and axes only). */
  data: Float32Array | Int32Array;
}

export interface OnnxAttribute {
  name: string;
  f?: number;
  i?: number;
  s?: string;
  floats?: number[];
  ints?: number[];
  t?: OnnxTensor;
}

export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: Map<string, OnnxAttribute>;
}

export interface OnnxValueInfo {
  name: string;
  /** Dimensions; a symbolic or missing dimension is -1. */
  shape: number[];
}

export interface OnnxGraph {
  opset: number;
  producer: string;
  nodes: OnnxNode[];
  initializers: Map<string, OnnxTensor>;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

let modelType: protobuf.Type | undefined;
/** The protobufjs type of onnx.ModelProto (tests use it to write small models). */
export function getModelType(): protobuf.Type {
  modelType ??= protobuf.parse(SCHEMA, { keepCase: true }).root.lookupType('onnx.ModelProto');
  return modelType;
}

type Long = { toNumber(): number } | number;
const num = (v: Long | undefined | null): number =>
  v == null ? 0 : typeof v === 'number' ? v : v.toNumber();

interface RawTensor {
  dims?: Long[];
  data_type?: number;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: Long[];
  double_data?: number[];
  raw_data?: Uint8Array;
  name?: string;
  data_location?: number;
}

function toTensor(t: RawTensor): OnnxTensor {
  const dims = (t.dims ?? []).map(num);
  const dataType = t.data_type ?? 0;
  const name = t.name ?? '';
  const size = dims.reduce((a, b) => a * b, 1);
  if (t.data_location === 1) throw new Error(`tensor ${name} uses external data, which is not supported`);
  const raw = t.raw_data && t.raw_data.length > 0 ? t.raw_data : undefined;
  // Copy raw bytes into an aligned buffer: protobuf slices may start at odd offsets.
  const rawCopy = raw ? new Uint8Array(raw).buffer : undefined;
  let data: Float32Array | Int32Array;
  switch (dataType) {
    case ONNX_DTYPE.FLOAT:
      data = rawCopy ? new Float32Array(rawCopy) : Float32Array.from(t.float_data ?? []);
      break;
    case ONNX_DTYPE.DOUBLE:
      data = Float32Array.from(rawCopy ? new Float64Array(rawCopy) : (t.double_data ?? []));
      break;
    case ONNX_DTYPE.INT64:
      data = rawCopy
        ? Int32Array.from(new BigInt64Array(rawCopy), (b) => Number(b))
        : Int32Array.from((t.int64_data ?? []).map(num));
      break;
    case ONNX_DTYPE.INT32:
      data = rawCopy ? new Int32Array(rawCopy) : Int32Array.from(t.int32_data ?? []);
      break;
    case ONNX_DTYPE.UINT8:
    case ONNX_DTYPE.BOOL:
      data = rawCopy ? Int32Array.from(new Uint8Array(rawCopy)) : Int32Array.from(t.int32_data ?? []);
      break;
    case ONNX_DTYPE.INT8:
      data = rawCopy ? Int32Array.from(new Int8Array(rawCopy)) : Int32Array.from(t.int32_data ?? []);
      break;
    default:
      throw new Error(`tensor ${name} has unsupported ONNX data type ${dataType}`);
  }
  if (data.length !== size && !(dims.length === 0 && data.length === 1)) {
    throw new Error(`tensor ${name}: ${data.length} values for shape [${dims.join(',')}]`);
  }
  return { name, dims, dataType, data };
}

interface RawAttr {
  name?: string;
  f?: number;
  i?: Long;
  s?: Uint8Array;
  t?: RawTensor;
  floats?: number[];
  ints?: Long[];
  type?: number;
}

function toAttr(a: RawAttr): OnnxAttribute {
  const out: OnnxAttribute = { name: a.name ?? '' };
  switch (a.type) {
    case 1:
      out.f = a.f ?? 0;
      break;
    case 2:
      out.i = num(a.i);
      break;
    case 3:
      out.s = Buffer.from(a.s ?? new Uint8Array()).toString('utf8');
      break;
    case 4:
      if (a.t) out.t = toTensor(a.t);
      break;
    case 6:
      out.floats = a.floats ?? [];
      break;
    case 7:
      out.ints = (a.ints ?? []).map(num);
      break;
    default:
      break;
  }
  return out;
}

interface RawValueInfo {
  name?: string;
  type?: { tensor_type?: { shape?: { dim?: { dim_value?: Long; dim_param?: string }[] } } };
}

const toValueInfo = (v: RawValueInfo): OnnxValueInfo => ({
  name: v.name ?? '',
  shape: (v.type?.tensor_type?.shape?.dim ?? []).map((d) =>
    d.dim_value != null && num(d.dim_value) > 0 ? num(d.dim_value) : -1,
  ),
});

/** Decodes a serialized ModelProto. Throws a plain Error on malformed bytes (callers name the file). */
export function parseOnnxModel(bytes: Uint8Array): OnnxGraph {
  const decoded = getModelType().decode(bytes) as unknown as {
    graph?: {
      node?: {
        input?: string[];
        output?: string[];
        name?: string;
        op_type?: string;
        domain?: string;
        attribute?: RawAttr[];
      }[];
      initializer?: RawTensor[];
      input?: RawValueInfo[];
      output?: RawValueInfo[];
    };
    opset_import?: { domain?: string; version?: Long }[];
    producer_name?: string;
  };
  const g = decoded.graph;
  if (!g || !g.node || g.node.length === 0) throw new Error('no graph nodes (not an ONNX model?)');
  const opset = (decoded.opset_import ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  const initializers = new Map<string, OnnxTensor>();
  for (const t of g.initializer ?? []) {
    const tensor = toTensor(t);
    initializers.set(tensor.name, tensor);
  }
  return {
    opset: opset ? num(opset.version) : 0,
    producer: decoded.producer_name ?? '',
    nodes: g.node.map((n, k) => ({
      name: n.name || `${n.op_type ?? 'node'}_${k}`,
      opType: n.op_type ?? '',
      domain: n.domain ?? '',
      inputs: n.input ?? [],
      outputs: n.output ?? [],
      attrs: new Map((n.attribute ?? []).map((a) => [a.name ?? '', toAttr(a)])),
    })),
    initializers,
    inputs: (g.input ?? []).map(toValueInfo).filter((v) => !initializers.has(v.name)),
    outputs: (g.output ?? []).map(toValueInfo),
  };
}
