/**
 * `ganvas export <model> --out file.onnx`: tfjs layers model (folder with model.json +
 * weights.bin, or the model.json path) -> ONNX, written only after the parity check passes.
 * `ganvas export check <file.onnx>`: validates an ONNX file against the model contract.
 */
import type { Command } from 'commander';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import '../models/layers';
import '../models/resnet-generator'; // registers its shape-preserving Cropping2D for loading
import { initBackend } from '../backends';
import { loadLayersModelFromFile } from './fs-handler';
import { exportOnnx, type ExportReport } from './export';
import { checkOnnx } from './check';
import type { Range } from './parity';

function parseRange(flag: string) {
  return (v: string): Range => {
    const parts = v.split(',').map((s) => Number(s.trim()));
    if (parts.length !== 2 || !parts.every(Number.isFinite) || !((parts[0] === 0 && parts[1] === 1) || (parts[0] === -1 && parts[1] === 1))) {
      throw new Error(`${flag} must be 0,1 or -1,1, got "${v}"`);
    }
    return [parts[0], parts[1]];
  };
}

function parseSizes(v: string): [number, number][] {
  return v.split(',').map((s) => {
    const m = /^\s*(\d+)x(\d+)\s*$/.exec(s);
    if (!m) throw new Error(`--sizes takes HxW[,HxW...], e.g. 32x48,64x40; got "${s}"`);
    return [Number(m[1]), Number(m[2])];
  });
}

function parsePositiveInt(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got "${v}"`);
    return n;
  };
}

/** The parity reference runs on wasm (fast, exact float32) or, where wasm cannot start, cpu. */
async function startBackend(name: string | undefined): Promise<void> {
  const log = (line: string) => console.error(line);
  if (name) {
    await initBackend({ backend: name, log });
    return;
  }
  try {
    await initBackend({ backend: 'wasm', log });
  } catch {
    await initBackend({ backend: 'cpu', log });
  }
}

async function loadModel(target: string): Promise<LayersModel> {
  try {
    return await loadLayersModelFromFile(target);
  } catch (err) {
    throw new Error(`cannot load the tfjs model ${target}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function summary(r: ExportReport): string {
  const sizes = r.sizes.map((s) => `${s.height}x${s.width}: ${s.maxAbsDiff.toExponential(2)} (bound ${s.bound.toExponential(2)})`).join(', ');
  return (
    `wrote ${r.file}: ${(r.bytes / 1024).toFixed(1)} KiB, opset ${r.opset}, ${r.nodes} nodes, ${r.parameters} parameters, ` +
    `${r.fp16 ? 'float16' : 'float32'} weights, ${r.inputName} -> ${r.outputName}${r.scale != null ? `, scale ${r.scale}` : ''}\n` +
    `  parity vs tfjs (max |diff|): ${sizes}`
  );
}

interface ExportCliOptions {
  out?: string;
  fp16?: boolean;
  fp16Out?: string;
  inputName: string;
  outputName: string;
  inputRange: Range;
  outputRange?: Range;
  multipleOf: number;
  sizes?: [number, number][];
  anyChannels?: boolean;
  backend?: string;
  json?: boolean;
}

interface CheckCliOptions {
  model?: string;
  multipleOf?: number;
  sizes?: [number, number][];
  anyChannels?: boolean;
  backend?: string;
  json?: boolean;
}

export function registerExportCommand(program: Command): void {
  const exp = program
    .command('export')
    .description('convert a tfjs layers model to ONNX (NCHW, dynamic H/W), proven equal before it is written; "export check <file>" validates an ONNX file')
    .argument('<model>', 'tfjs model folder (model.json + weights.bin) or model.json path')
    .option('--out <file.onnx>', 'ONNX file to write (atomically); required')
    .option('--fp16', 'store the weights as float16 (inputs/outputs stay float32)')
    .option('--fp16-out <file.onnx>', 'also write the float16-weights variant to this file')
    .option('--input-name <name>', 'ONNX input name', 'input')
    .option('--output-name <name>', 'ONNX output name', 'output')
    .option('--input-range <lo,hi>', 'pixel range the model takes: 0,1 or -1,1', parseRange('--input-range'), [0, 1] as Range)
    .option('--output-range <lo,hi>', 'pixel range the model produces (default: the input range)', parseRange('--output-range'))
    .option('--multiple-of <n>', 'H and W must be multiples of this (e.g. 4 for two stride-2 downsamplings)', parsePositiveInt('--multiple-of'), 1)
    .option('--sizes <HxW,...>', 'input sizes for the parity check (default 32x48 and an odd or larger second size)', parseSizes)
    .option('--any-channels', 'do not enforce the RGB contract (3 channels in and out, integer scale), e.g. for a discriminator')
    .option('--backend <name>', 'tfjs backend for the reference predict (default wasm, else cpu)')
    .option('--json', 'print the report(s) as JSON')
    .action(async (modelPath: string, opts: ExportCliOptions) => {
      // Checked here, not with requiredOption, so that "export check" does not need --out.
      if (!opts.out) throw new Error('export needs --out <file.onnx>');
      await startBackend(opts.backend);
      const model = await loadModel(modelPath);
      const common = {
        inputName: opts.inputName,
        outputName: opts.outputName,
        inputRange: opts.inputRange,
        outputRange: opts.outputRange,
        multipleOf: opts.multipleOf,
        rgb: !opts.anyChannels,
        check: opts.sizes ? { sizes: opts.sizes } : undefined,
        metadata: { 'ganvas.source': modelPath },
      };
      const reports = [await exportOnnx(model, { ...common, outFile: opts.out, fp16: !!opts.fp16 })];
      if (opts.fp16Out) reports.push(await exportOnnx(model, { ...common, outFile: opts.fp16Out, fp16: true }));
      console.log(opts.json ? JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2) : reports.map(summary).join('\n'));
    });

  exp
    .command('check')
    .description('validate an ONNX file against the model contract with onnxruntime-node (and against a tfjs model with --model)')
    .argument('<file.onnx>', 'ONNX file')
    .option('--model <folder>', 'tfjs model to compare against (parity check)')
    .option('--multiple-of <n>', 'H and W multiple for the test inputs (default: the file\'s ganvas.multipleOf metadata, else 1)', parsePositiveInt('--multiple-of'))
    .option('--sizes <HxW,...>', 'input sizes for the parity check', parseSizes)
    .option('--any-channels', 'do not require 3-channel RGB input and output')
    .option('--backend <name>', 'tfjs backend for --model (default wasm, else cpu)')
    .option('--json', 'print the report as JSON')
    .action(async (file: string, opts: CheckCliOptions) => {
      let model: LayersModel | undefined;
      if (opts.model) {
        await startBackend(opts.backend);
        model = await loadModel(opts.model);
      }
      const r = await checkOnnx(file, { model, multipleOf: opts.multipleOf, sizes: opts.sizes, rgb: !opts.anyChannels });
      if (opts.json) {
        console.log(JSON.stringify(r, null, 2));
        return;
      }
      const dims = (d: (number | string | null)[]) => `[${d.map((x) => x ?? '?').join(', ')}]`;
      console.log(
        `OK ${file}: ${(r.bytes / 1024).toFixed(1)} KiB, IR ${r.irVersion}, opset ${r.opset}, ${r.nodes} nodes, producer "${r.producer}"\n` +
          `  input  ${r.inputName} ${dims(r.inputDims)}\n  output ${r.outputName} ${dims(r.outputDims)}\n` +
          `  ${r.fp16Weights ? 'float16' : 'float32'} weights; test run ${dims(r.run.inputDims)} -> ${dims(r.run.outputDims)}` +
          `${r.scale != null ? `, scale ${r.scale}` : ''}` +
          (r.parity ? `\n  parity vs tfjs: ${r.parity.map((s) => `${s.height}x${s.width}: ${s.maxAbsDiff.toExponential(2)}`).join(', ')}` : ''),
      );
    });
}
