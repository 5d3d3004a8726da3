/** Ganvas ONNX export: public API. See docs/export.md. */
export { exportOnnx, defaultCheckSizes, ExportParityError, type ExportOptions, type ExportReport } from './export';
export { checkOnnx, OnnxCheckError, type CheckOptions, type CheckReport } from './check';
export { convertToOnnx, type ConvertOptions, type Converted } from './convert';
export { EMITTERS, supportedLayerClasses } from './registry';
export { UnsupportedLayerError, type Emitter, type EmitContext } from './emitters/types';
export { FP16_TOLERANCE, FP32_TOLERANCE, type SizeReport, type Divergence } from './parity';
export { fileSystem, registerFileSystemRouter, loadLayersModelFromFile } from './fs-handler';
