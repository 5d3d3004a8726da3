/** checkOnnx on good, corrupt, truncated and contract-violating files; the fs IOHandler. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { imageInput, modelOf, tempDir, tf, tfl, useCpu, type ST } from './helpers';
import { checkOnnx, exportOnnx, fileSystem, loadLayersModelFromFile, OnnxCheckError, registerFileSystemRouter } from '../../training/export';
import { PixelShuffle, ReflectionPad2D } from '../../training/models/layers';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../../training/export/onnx/float16';

let dir: string;
let cleanup: () => Promise<void>;
let good: string;
let model: tfl.LayersModel;
beforeAll(async () => {
  await useCpu();
  ({ dir, cleanup } = await tempDir());
  const x = imageInput();
  let h = new ReflectionPad2D({ padding: 1 }).apply(x) as ST;
  h = tfl.layers.conv2d({ filters: 12, kernelSize: 3 }).apply(h) as ST;
  h = new PixelShuffle({ scale: 2 }).apply(h) as ST;
  model = modelOf(x, h);
  good = path.join(dir, 'good.onnx');
  await exportOnnx(model, { outFile: good, multipleOf: 2, check: { sizes: [[16, 24]] } });
});
afterAll(() => cleanup());

describe('checkOnnx', () => {
  it('reports the contract facts of a good file, and parity against its tfjs model', async () => {
    const r = await checkOnnx(good, { model });
    expect(r.inputName).toBe('input');
    expect(r.outputName).toBe('output');
    expect(r.inputDims).toEqual(['N', 3, 'H', 'W']);
    expect(r.outputDims).toEqual(['N', 3, 'H_out', 'W_out']);
    expect(r.opset).toBe(17);
    expect(r.scale).toBe(2);
    expect(r.run).toEqual({ inputDims: [1, 3, 32, 48], outputDims: [1, 3, 64, 96] });
    expect(r.metadata['ganvas.multipleOf']).toBe('2');
    expect(r.parity?.length).toBe(2);
    for (const p of r.parity!) expect(p.maxAbsDiff).toBeLessThanOrEqual(1e-4);
  });

  it('fails parity against a different tfjs model', async () => {
    const perturbed = await tfl.loadLayersModel(tf.io.fromMemory(await saveToMemory(model)));
    perturbed.layers[2].setWeights(perturbed.layers[2].getWeights().map((w) => tf.add(w, 0.01)));
    await expect(checkOnnx(good, perturbed)).rejects.toThrow(/does not match the tfjs model: max \|diff\|/);
  });

  it('rejects truncated, corrupt, empty and missing files with clear errors', async () => {
    const bytes = await readFile(good);
    const cases: [string, Uint8Array, RegExp][] = [
      ['truncated.onnx', bytes.subarray(0, Math.floor(bytes.length * 0.6)), /truncated or corrupt|cannot load/],
      ['cut-at-end.onnx', bytes.subarray(0, bytes.length - 3), /truncated or corrupt|cannot load/],
      ['garbage.onnx', Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) & 0xff), /not a valid ONNX model|cannot load/],
      ['empty.onnx', new Uint8Array(0), /is empty/],
    ];
    for (const [name, data, re] of cases) {
      const f = path.join(dir, name);
      await writeFile(f, data);
      const err = await checkOnnx(f).catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(OnnxCheckError);
      expect((err as Error).message, name).toMatch(re);
    }
    await expect(checkOnnx(path.join(dir, 'nope.onnx'))).rejects.toThrow(/cannot read .*nope\.onnx: no such file/);
  });

  it('rejects contract violations: 1-channel output', async () => {
    const x = imageInput();
    const m = modelOf(x, tfl.layers.conv2d({ filters: 1, kernelSize: 3, padding: 'same' }).apply(x) as ST);
    const f = path.join(dir, 'gray.onnx');
    await exportOnnx(m, { outFile: f, rgb: false, check: { sizes: [[8, 8]] } });
    await expect(checkOnnx(f)).rejects.toThrow(/violates the model contract: output "output" has 1 channels/);
    const r = await checkOnnx(f, { rgb: false });
    expect(r.run.outputDims).toEqual([1, 1, 32, 48]);
  });
});

async function saveToMemory(m: tfl.LayersModel): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await m.save(tf.io.withSaveHandler(async (a) => {
    saved = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  return saved!;
}

describe('fileSystem IOHandler', () => {
  it('saves model.json + weights.bin and loads them back (folder, model.json path, file:// URL)', async () => {
    const folder = path.join(dir, 'ckpt');
    await model.save(fileSystem(folder));
    const json = JSON.parse(await readFile(path.join(folder, 'model.json'), 'utf8'));
    expect(json.weightsManifest[0].paths).toEqual(['./weights.bin']);
    const x = tf.randomUniform([1, 6, 10, 3]);
    const ref = model.predict(x) as tf.Tensor;
    for (const loaded of [await loadLayersModelFromFile(folder), await loadLayersModelFromFile(path.join(folder, 'model.json'))]) {
      expect(tf.max(tf.abs(tf.sub(loaded.predict(x) as tf.Tensor, ref))).dataSync()[0]).toBe(0);
    }
    registerFileSystemRouter();
    await model.save(`file://${path.join(dir, 'viaurl')}`);
    const viaUrl = await tfl.loadLayersModel(`file://${path.join(dir, 'viaurl')}`);
    expect(tf.max(tf.abs(tf.sub(viaUrl.predict(x) as tf.Tensor, ref))).dataSync()[0]).toBe(0);
  });

  it('says what is missing', async () => {
    await expect(loadLayersModelFromFile(path.join(dir, 'missing'))).rejects.toThrow(/no tfjs model at .*missing \(missing .*model\.json\)/);
    const folder = path.join(dir, 'noweights');
    await model.save(fileSystem(folder));
    await rm(path.join(folder, 'weights.bin'));
    await expect(loadLayersModelFromFile(folder)).rejects.toThrow(/weights file .*weights\.bin .* cannot be read/);
  });
});

describe('float16 conversion', () => {
  it('rounds to nearest even and handles subnormals, overflow, NaN', () => {
    expect(float32ToFloat16Bits(1)).toBe(0x3c00);
    expect(float32ToFloat16Bits(-2)).toBe(0xc000);
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff);
    expect(float32ToFloat16Bits(1e6)).toBe(0x7c00);
    expect(float32ToFloat16Bits(2 ** -24)).toBe(0x0001);
    expect(float32ToFloat16Bits(2 ** -26)).toBe(0);
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie -> even
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie -> even (up)
    expect(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(NaN)))).toBe(true);
    for (const v of [0.1, -0.3337, 3.14159, 1e-5, 123.456]) {
      expect(Math.abs(float16BitsToFloat32(float32ToFloat16Bits(v)) - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11 + 2 ** -25);
    }
  });
});
