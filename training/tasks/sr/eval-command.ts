/**
 * `eval sr`: resolves --model to a runner (bicubic, a manifest id, an ONNX file, a tfjs model or
 * run folder, an UpscalerJS peer) and measures it on the benchmark sets.
 */
import path from 'node:path';
import { promises as fs } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { parseManifest } from '../../../lib/contract/manifest';
import { initBackend } from '../../backends';
import { findGeneratorFolder, loadLayersModel } from '../../checkpoint';
import { writeFileAtomic } from '../../io/atomic';
import { evaluateSet, repoRoot, type SetResult } from '../../eval/sr/evaluate';
import { bicubicRunner, onnxRunner, selfEnsemble, tfjsRunner, type Range, type SrRunner } from '../../eval/sr/runners';
import { upscalerRunner, UPSCALER_MODELS, type UpscalerModelName } from '../../eval/sr/peers';
import { exists } from '../../io/fs';
import { describeFixedDegradations, type FixedDegradation } from '../../data/degrade';

export interface SrEvalOptions {
  model: string;
  scale?: number;
  sets: string[];
  root: string;
  limit?: number;
  range: string;
  tile: number;
  backend: string;
  json?: string;
  /** Degrade the official LR images first (`--degrade jpeg:60`). */
  degrade?: FixedDegradation[];
  /** Geometric self-ensemble of this many transforms (`--self-ensemble`; 1 = off). */
  selfEnsemble?: number;
  log?: (s: string) => void;
}

function parseRange(r: string): Range {
  const m = { '0,1': [0, 1], '-1,1': [-1, 1], '0,255': [0, 255] } as Record<string, [number, number]>;
  const v = m[r.replace(/\s/g, '')];
  if (!v) throw new Error(`--range must be 0,1 or -1,1 or 0,255, got "${r}"`);
  return v;
}

/** Builds the runner that --model names. */
export async function resolveRunner(o: Pick<SrEvalOptions, 'model' | 'scale' | 'range' | 'tile' | 'backend'> & { threads?: number }, log: (s: string) => void): Promise<SrRunner> {
  const spec = o.model;
  const tile = o.tile || undefined;
  if (spec === 'bicubic') {
    if (!o.scale) throw new Error('--scale is required for bicubic');
    return bicubicRunner(o.scale);
  }
  if (spec.startsWith('upscaler:')) {
    const name = spec.slice('upscaler:'.length) as UpscalerModelName;
    if (!UPSCALER_MODELS.includes(name)) throw new Error(`unknown UpscalerJS model "${name}" (one of ${UPSCALER_MODELS.join(', ')})`);
    if (!o.scale) throw new Error('--scale is required for UpscalerJS models');
    await initBackend({ backend: o.backend, log });
    return upscalerRunner(name, o.scale, { tile });
  }
  if (/^[a-z0-9][a-z0-9-]*$/.test(spec) && !(await exists(spec))) {
    const manifestPath = path.join(repoRoot, 'public/models/manifest.json');
    const manifest = parseManifest(JSON.parse(await fs.readFile(manifestPath, 'utf8')));
    const e = manifest.models.find((m) => m.id === spec);
    if (!e) throw new Error(`no model "${spec}" in ${manifestPath} (ids: ${manifest.models.map((m) => m.id).join(', ') || 'none'})`);
    if (e.task !== 'super-resolution') throw new Error(`${spec} is a ${e.task} model, not super-resolution`);
    return onnxRunner(path.join(repoRoot, 'public/models', e.file), {
      name: e.id,
      scale: e.scale,
      inputName: e.input.name,
      outputName: e.output.name,
      inputRange: e.input.range,
      outputRange: e.output.range,
      multipleOf: e.multipleOf,
      tile: tile ?? e.tile?.size,
      overlap: e.tile?.overlap,
      threads: o.threads,
    });
  }
  const range = parseRange(o.range);
  if (spec.endsWith('.onnx')) {
    if (!o.scale) throw new Error('--scale is required for a bare ONNX file');
    const ort = await import('onnxruntime-node');
    const s = await ort.InferenceSession.create(spec);
    const r = await onnxRunner(spec, {
      name: path.basename(spec),
      scale: o.scale,
      inputName: s.inputNames[0],
      outputName: s.outputNames[0],
      inputRange: range,
      outputRange: range,
      tile,
      threads: o.threads,
    });
    await s.release();
    return r;
  }
  // tfjs: model.json, model folder, one checkpoint (step-N), or a run folder (model/ or newest checkpoint).
  let dir = spec;
  if (await exists(path.join(spec, 'model', 'model.json'))) dir = path.join(spec, 'model');
  else if (!(await exists(path.join(spec, 'model.json'))) && !spec.endsWith('.json')) {
    const generator = await findGeneratorFolder(spec);
    if (!generator) throw new Error(`--model ${spec}: not bicubic, a manifest id, an .onnx file, a tfjs model, a checkpoint or a run folder`);
    dir = generator;
  }
  await initBackend({ backend: o.backend, log });
  const model = await loadLayersModel(dir);
  let scale = o.scale;
  if (!scale) {
    const probe = tf.tidy(() => (model.predict(tf.zeros([1, 8, 8, 3])) as tf.Tensor).shape[1]!);
    scale = probe / 8;
  }
  // Name a run or checkpoint by itself (runs/sr-photo-x4-s6, step-00000300), a bare model by its folders.
  const given = path.basename(path.resolve(spec));
  const name = ['model', 'model.json', 'generator'].includes(given) ? path.basename(path.dirname(dir)) + '/' + path.basename(dir) : given;
  return tfjsRunner(model, { name, scale, range, tile });
}

/**
 * `eval sr`: one model, or several comma-separated (`--model bicubic,sr-quality-x4,sr-photo-x4`),
 * then a Markdown table of Y-PSNR per model and set, so a comparison table is one command.
 */
export async function runSrEval(o: SrEvalOptions): Promise<SetResult[]> {
  const log = o.log ?? ((s: string) => console.log(s));
  const models = o.model.includes(',') && !(await exists(o.model)) ? o.model.split(',').map((m) => m.trim()).filter(Boolean) : [o.model];
  if (models.length === 1) return runOne({ ...o, model: models[0] }, log);
  const all: SetResult[] = [];
  for (const model of models) all.push(...(await runOne({ ...o, model, json: undefined }, log)));
  const tag = o.degrade?.length ? ` (LR ${describeFixedDegradations(o.degrade)})` : '';
  const rows = [`| model | scale | ${o.sets.join(' | ')} |`, `|---|---|${o.sets.map(() => '---').join('|')}|`];
  for (const m of [...new Set(all.map((r) => `${r.model}\t${r.scale}`))]) {
    const [name, scale] = m.split('\t');
    rows.push(`| ${name} | x${scale} | ${o.sets.map((s) => all.find((r) => r.model === name && String(r.scale) === scale && r.set === s)?.psnr.toFixed(2) ?? '-').join(' | ')} |`);
  }
  log(`\nY-PSNR (dB)${tag}:\n${rows.join('\n')}`);
  if (o.json) await writeFileAtomic(o.json, JSON.stringify(all.map(({ perImage: _p, ...r }) => r), null, 1));
  return all;
}

async function runOne(o: SrEvalOptions, log: (s: string) => void): Promise<SetResult[]> {
  const runner = selfEnsemble(await resolveRunner(o, log), o.selfEnsemble ?? 1);
  const results: SetResult[] = [];
  for (const set of o.sets) {
    const r = await evaluateSet(runner, set, runner.scale, { root: o.root, limit: o.limit, degrade: o.degrade });
    if (o.degrade?.length) r.degrade = describeFixedDegradations(o.degrade);
    results.push(r);
    log(`${runner.name} x${runner.scale} ${set}${r.degrade ? ` (LR ${r.degrade})` : ''}: Y-PSNR ${r.psnr.toFixed(3)} dB, SSIM ${r.ssim.toFixed(4)} (${r.images} images, ${r.secondsPerImage.toFixed(3)} s/image)`);
  }
  await runner.dispose?.();
  const out = results.map(({ perImage, ...rest }) => ({ ...rest, perImage: perImage.map((p) => ({ ...p, psnr: +p.psnr.toFixed(4), ssim: +p.ssim.toFixed(5) })) }));
  if (o.json) await writeFileAtomic(o.json, JSON.stringify(out, null, 1));
  else console.log(JSON.stringify(out.map(({ perImage: _p, ...r }) => r)));
  return results;
}
