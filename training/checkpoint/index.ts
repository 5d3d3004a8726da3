/**
 * Resumable, crash-safe training checkpoints.
 *
 * Layout of a run's checkpoint folder:
 *   latest                  text file naming the newest complete checkpoint (replaced atomically)
 *   step-00001200/
 *     meta.json             step, JSON state (LR schedule, RNG, counters...), tensor index
 *     state.bin             optimizer slots and extra tensors (e.g. image pools)
 *     models/<name>/model.json + weights.bin   standard tfjs layers artifacts (export reads these)
 *
 * A checkpoint is written into a temporary folder, flushed, then renamed into place, and only
 * then does `latest` point at it. A killed process or a full disk therefore never leaves a
 * half-written checkpoint that resume would load.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '../models/layers';
import { writeFileAtomic } from '../io/atomic';
import { exists } from '../io/fs';
import { fileSystem, loadLayersModelFromFile } from '../export/fs-handler';
import { averagedName, type WeightAverage } from '../models/weight-average';

export interface CheckpointData {
  step: number;
  models: Record<string, tfl.LayersModel>;
  optimizers?: Record<string, tf.Optimizer>;
  /** Extra tensors to restore exactly, e.g. CycleGAN's image history pools. */
  tensors?: Record<string, tf.Tensor>;
  /** JSON-serialisable training state: LR schedule position, RNG state, options... */
  state?: Record<string, unknown>;
}

export interface RestoredCheckpoint {
  path: string;
  step: number;
  state: Record<string, unknown>;
  tensors: Record<string, tf.Tensor>;
}

interface Meta {
  format: 'ganvas-checkpoint';
  version: 1;
  step: number;
  savedAt: string;
  models: string[];
  optimizers: Record<string, string[]>;
  tensors: string[];
  specs: tf.io.WeightsManifestEntry[];
  state: Record<string, unknown>;
}

const LATEST = 'latest';
const stepDirName = (step: number) => `step-${String(step).padStart(8, '0')}`;

/** Saves one checkpoint and prunes old ones (keeps `keep`, default 3). Returns its folder. */
export async function saveCheckpoint(dir: string, data: CheckpointData, opts: { keep?: number } = {}): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  const finalDir = path.join(dir, stepDirName(data.step));
  const tmpDir = `${finalDir}.tmp-${process.pid}-${Date.now()}`;
  await fs.mkdir(path.join(tmpDir, 'models'), { recursive: true });
  try {
    for (const [name, model] of Object.entries(data.models)) await saveLayersModel(path.join(tmpDir, 'models', name), model);

    const named: { name: string; tensor: tf.Tensor }[] = [];
    const optimizers: Record<string, string[]> = {};
    for (const [name, opt] of Object.entries(data.optimizers ?? {})) {
      const weights = await opt.getWeights();
      optimizers[name] = weights.map((w) => w.name);
      weights.forEach((w, i) => named.push({ name: `optimizer/${name}/${i}`, tensor: w.tensor }));
    }
    for (const [name, t] of Object.entries(data.tensors ?? {})) named.push({ name: `tensor/${name}`, tensor: t });
    const { data: bin, specs } = await tf.io.encodeWeights(named);
    const meta: Meta = {
      format: 'ganvas-checkpoint',
      version: 1,
      step: data.step,
      savedAt: new Date().toISOString(),
      models: Object.keys(data.models),
      optimizers,
      tensors: Object.keys(data.tensors ?? {}),
      specs,
      state: data.state ?? {},
    };
    await writeFileAtomic(path.join(tmpDir, 'state.bin'), new Uint8Array(bin as ArrayBuffer));
    await writeFileAtomic(path.join(tmpDir, 'meta.json'), JSON.stringify(meta, null, 1));
    await fs.rm(finalDir, { recursive: true, force: true });
    await fs.rename(tmpDir, finalDir);
  } catch (err) {
    await fs.rm(tmpDir, { recursive: true, force: true });
    throw new Error(`could not write checkpoint ${finalDir}: ${(err as Error).message}`);
  }
  await writeFileAtomic(path.join(dir, LATEST), `${stepDirName(data.step)}\n`);
  await pruneCheckpoints(dir, opts.keep ?? 3);
  return finalDir;
}

/** The newest complete checkpoint in `dir`, or null when there is none. */
export async function findLatestCheckpoint(dir: string): Promise<string | null> {
  try {
    const name = (await fs.readFile(path.join(dir, LATEST), 'utf8')).trim();
    const p = path.join(dir, name);
    await fs.access(path.join(p, 'meta.json'));
    return p;
  } catch {
    // No pointer (or it names a folder that is gone): fall back to the newest complete folder.
    const complete = await completeCheckpoints(dir);
    return complete.length ? path.join(dir, complete[complete.length - 1]) : null;
  }
}

/**
 * The saved generator of a run folder (its newest checkpoint), of a checkpoints folder, or of one
 * checkpoint (step-N); null when `dir` is none of these. A checkpoint that also holds the
 * weight average (`generator-ema`, training/models/weight-average.ts) gives that one: it is the
 * model validation scored and the one that is exported and shipped.
 */
export async function findGeneratorFolder(dir: string): Promise<string | null> {
  const latest = (await findLatestCheckpoint(path.join(dir, 'checkpoints'))) ?? (await findLatestCheckpoint(dir));
  return modelFolder(latest ?? dir, 'generator');
}

/**
 * Which weights of a generator to read: its weight average (`<name>-ema`, training/models/weight-average.ts)
 * when the checkpoint holds one, or the trained weights themselves. A GAN generator still on the
 * move can differ a lot from its lagging average (docs/cyclegan.md, sessions 16-17's horse->zebra).
 */
export type GeneratorWeights = 'average' | 'trained';

/**
 * The folder of model `name` in a checkpoint: its weight average when the checkpoint holds one
 * (unless `weights` is 'trained'), else the model itself; null when it has neither.
 */
export async function modelFolder(checkpointDir: string, name: string, weights: GeneratorWeights = 'average'): Promise<string | null> {
  for (const n of weights === 'average' ? [`${name}-ema`, name] : [name]) {
    const folder = path.join(checkpointDir, 'models', n);
    if (await exists(path.join(folder, 'model.json'))) return folder;
  }
  return null;
}

/**
 * Model `name` of one checkpoint (a step-N folder), of a checkpoints folder or of a run folder
 * (their newest checkpoint), with the weights chosen as in modelFolder. Throws a message that
 * says what `spec` is missing.
 */
export async function checkpointModelFolder(spec: string, name: string, weights: GeneratorWeights = 'average'): Promise<{ checkpoint: string; folder: string }> {
  if (!(await exists(spec))) throw new Error(`${spec} does not exist`);
  let checkpoint = spec;
  if (!(await exists(path.join(spec, 'meta.json')))) {
    checkpoint = (await findLatestCheckpoint(spec)) ?? (await findLatestCheckpoint(path.join(spec, 'checkpoints'))) ?? '';
    if (!checkpoint) throw new Error(`${spec} is not a Ganvas checkpoint, nor a folder holding them`);
  }
  const folder = await modelFolder(checkpoint, name, weights);
  if (!folder) throw new Error(`${checkpoint} has no model ${name} (models/${name})`);
  return { checkpoint, folder };
}

/**
 * Restores weights into already-built models and optimizers (matched by order and shape) and
 * returns the saved step, state and extra tensors.
 */
export async function loadCheckpoint(
  checkpointDir: string,
  targets: { models: Record<string, tfl.LayersModel>; optimizers?: Record<string, tf.Optimizer> },
): Promise<RestoredCheckpoint> {
  const meta = await readMeta(checkpointDir);
  for (const [name, model] of Object.entries(targets.models)) {
    if (!meta.models.includes(name)) throw new Error(`checkpoint ${checkpointDir} has no model "${name}" (it has: ${meta.models.join(', ')})`);
    const saved = await loadLayersModel(path.join(checkpointDir, 'models', name));
    copyWeights(saved, model, `${checkpointDir} model "${name}"`);
    saved.dispose();
  }
  const bin = await fs.readFile(path.join(checkpointDir, 'state.bin'));
  const decoded = tf.io.decodeWeights(toArrayBuffer(bin), meta.specs);
  for (const [name, opt] of Object.entries(targets.optimizers ?? {})) {
    const names = meta.optimizers[name];
    if (!names) throw new Error(`checkpoint ${checkpointDir} has no optimizer "${name}"`);
    await opt.setWeights(names.map((n, i) => ({ name: n, tensor: decoded[`optimizer/${name}/${i}`] })));
  }
  const tensors: Record<string, tf.Tensor> = {};
  for (const name of meta.tensors) tensors[name] = decoded[`tensor/${name}`];
  return { path: checkpointDir, step: meta.step, state: meta.state, tensors };
}

/**
 * loadCheckpoint, plus the weight averages (training/models/weight-average.ts) of the models named
 * in `averages`: loaded from `<name>-ema` with their update count when the checkpoint holds them,
 * otherwise restarted at their models' restored weights (a checkpoint from before the averages
 * started). `targets.models` may list the averaged models too; they are only loaded when present.
 */
export async function loadCheckpointWithAverages(
  checkpointDir: string,
  targets: { models: Record<string, tfl.LayersModel>; optimizers?: Record<string, tf.Optimizer> },
  averages: Record<string, { of: tfl.LayersModel; average: WeightAverage }>,
): Promise<RestoredCheckpoint> {
  const { models: names, state } = await readCheckpointState(checkpointDir);
  const averaged = Object.entries(averages).map(([name, a]) => [averagedName(name), a] as const);
  const held = averaged.length > 0 && averaged.every(([name]) => names.includes(name));
  const models = Object.fromEntries(Object.entries(targets.models).filter(([name]) => !averaged.some(([n]) => n === name)));
  const r = await loadCheckpoint(checkpointDir, { models: held ? { ...models, ...Object.fromEntries(averaged.map(([n, a]) => [n, a.average.model])) } : models, optimizers: targets.optimizers });
  for (const [, a] of averaged) {
    if (held) a.average.updates = (state.ema as { updates: number } | undefined)?.updates ?? 0;
    else a.average.restartAt(a.of);
  }
  return r;
}

/** Reads the JSON part of a checkpoint (step, state, names of its models) without touching any tensor. */
export async function readCheckpointState(checkpointDir: string): Promise<{ step: number; state: Record<string, unknown>; models: string[] }> {
  const meta = await readMeta(checkpointDir);
  return { step: meta.step, state: meta.state, models: meta.models };
}

async function readMeta(checkpointDir: string): Promise<Meta> {
  let meta: Meta;
  try {
    meta = JSON.parse(await fs.readFile(path.join(checkpointDir, 'meta.json'), 'utf8')) as Meta;
  } catch (err) {
    throw new Error(`not a readable checkpoint: ${checkpointDir} (${(err as Error).message})`);
  }
  if (meta.format !== 'ganvas-checkpoint') throw new Error(`not a Ganvas checkpoint: ${checkpointDir}`);
  return meta;
}

function copyWeights(from: tfl.LayersModel, to: tfl.LayersModel, label: string): void {
  const src = from.getWeights();
  const dst = to.weights;
  if (src.length !== dst.length) {
    throw new Error(`${label}: ${src.length} weight tensors saved but the model has ${dst.length} (different architecture options?)`);
  }
  src.forEach((t, i) => {
    if (t.shape.join('x') !== dst[i].shape.join('x')) {
      throw new Error(`${label}: weight ${i} (${dst[i].name}) has shape [${dst[i].shape}] but the checkpoint has [${t.shape}]`);
    }
  });
  to.setWeights(src);
}

async function completeCheckpoints(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const n of names.filter((n) => /^step-\d+$/.test(n)).sort()) {
    try {
      await fs.access(path.join(dir, n, 'meta.json'));
      out.push(n);
    } catch {
      /* incomplete: ignored */
    }
  }
  return out;
}

async function pruneCheckpoints(dir: string, keep: number): Promise<void> {
  const complete = await completeCheckpoints(dir);
  for (const n of complete.slice(0, Math.max(0, complete.length - keep))) await fs.rm(path.join(dir, n), { recursive: true, force: true });
  // Leftovers of interrupted writes.
  for (const n of await fs.readdir(dir)) {
    if (/^step-\d+\.tmp-/.test(n) && !n.includes(`.tmp-${process.pid}-`)) await fs.rm(path.join(dir, n), { recursive: true, force: true });
  }
}

/**
 * Makes `home` (a shipped model's folder under checkpoints/) hold `ckpt` as its one shipped
 * checkpoint: copied in, named by `latest`. Other step-N folders directly in `home` go; everything
 * else stays, above all a `training/` continuation (a later, unshipped checkpoint that the next run
 * resumes from), its READMEs and curves. Returns the copy's path.
 */
export async function installShippedCheckpoint(home: string, ckpt: string): Promise<string> {
  const name = path.basename(ckpt);
  if (!/^step-\d+$/.test(name)) throw new Error(`${ckpt} is not a checkpoint folder (step-N)`);
  await fs.access(path.join(ckpt, 'meta.json')).catch(() => {
    throw new Error(`${ckpt} is not a complete checkpoint (no meta.json)`);
  });
  await fs.mkdir(home, { recursive: true });
  const dst = path.join(home, name);
  if (path.resolve(dst) !== path.resolve(ckpt)) {
    // Copy next to the target first, so a failed copy leaves the old shipped checkpoint in place.
    const tmp = `${dst}.tmp-${process.pid}-${Date.now()}`;
    await fs.cp(ckpt, tmp, { recursive: true });
    for (const n of await fs.readdir(home)) {
      if (/^step-\d+$/.test(n)) await fs.rm(path.join(home, n), { recursive: true, force: true });
    }
    await fs.rename(tmp, dst);
  }
  await writeFileAtomic(path.join(home, LATEST), `${name}\n`);
  return dst;
}

/** Saves a layers model as model.json + weights.bin (the layout `tf.loadLayersModel` and the exporter read). */
export async function saveLayersModel(dir: string, model: tfl.LayersModel): Promise<void> {
  await model.save(fileSystem(dir));
}

/** Loads a layers model from a folder holding model.json + its weight files (or from the model.json path). */
export const loadLayersModel = loadLayersModelFromFile;

function toArrayBuffer(buf: Buffer): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}
