/**
 * The ONNX protobuf classes (onnx-proto: protobufjs static code generated from onnx.proto).
 * onnx-proto is CommonJS without named exports, hence the default import.
 */
import onnxProto, { type onnx as OnnxNs } from 'onnx-proto';

export const onnx = onnxProto.onnx;
export type IModelProto = OnnxNs.IModelProto;
export type IGraphProto = OnnxNs.IGraphProto;
export type INodeProto = OnnxNs.INodeProto;
export type ITensorProto = OnnxNs.ITensorProto;
export type IValueInfoProto = OnnxNs.IValueInfoProto;
export type IAttributeProto = OnnxNs.IAttributeProto;
export type ModelProto = OnnxNs.ModelProto;

export const DataType = onnx.TensorProto.DataType;
export const AttrType = onnx.AttributeProto.AttributeType;

/** protobufjs decodes int64 fields as Long objects when the `long` package is present. */
export function toNumber(v: number | { toNumber(): number } | null | undefined): number {
  if (v == null) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}
