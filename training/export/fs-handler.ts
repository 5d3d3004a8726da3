/**
 * A tf.io IOHandler for the local file system, for Node without @tensorflow/tfjs-node.
 * Reads and writes the same layout as tfjs-node's `file://` handler: a folder holding
 * `model.json` (topology + weights manifest) and `weights.bin`.
 *
 *   await model.save(fileSystem('runs/x/checkpoint'));
 *   const m = await tfl.loadLayersModel(fileSystem('runs/x/checkpoint'));   // or .../model.json
 *   registerFileSystemRouter(); await model.save('file://runs/x/checkpoint'); // same, by URL
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../io/atomic';

const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** Resolves a folder or a model.json path to the model.json path. */
async function modelJsonPath(target: string): Promise<string> {
  if (target.endsWith('.json')) return target;
  // A folder, existing or not (save creates it).
  if (await isDirectory(target)) return path.join(target, MODEL_JSON);
  return path.join(target, MODEL_JSON);
}

class FileSystemHandler implements tf.io.IOHandler {
  constructor(private readonly target: string) {}

  async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
    if (artifacts.modelTopology instanceof ArrayBuffer) throw new Error('fileSystem(): binary model topologies are not supported');
    const jsonPath = await modelJsonPath(this.target);
    const dir = path.dirname(jsonPath);
    const weightsName = path.basename(jsonPath) === MODEL_JSON ? WEIGHTS_BIN : `${path.basename(jsonPath, '.json')}.weights.bin`;
    const weightData = artifacts.weightData == null ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
    const modelJson: tf.io.ModelJSON = {
      modelTopology: artifacts.modelTopology as object,
      format: artifacts.format,
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy,
      weightsManifest: [{ paths: [`./${weightsName}`], weights: artifacts.weightSpecs ?? [] }],
    };
    if (artifacts.trainingConfig != null) modelJson.trainingConfig = artifacts.trainingConfig;
    if (artifacts.signature != null) modelJson.signature = artifacts.signature;
    if (artifacts.userDefinedMetadata != null) modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;
    if (artifacts.modelInitializer != null) modelJson.modelInitializer = artifacts.modelInitializer;
    // Weights first, then the JSON that points at them; each write is atomic.
    await writeFileAtomic(path.join(dir, weightsName), new Uint8Array(weightData));
    await writeFileAtomic(jsonPath, JSON.stringify(modelJson));
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON({ ...artifacts, weightData }) };
  }

  async load(): Promise<tf.io.ModelArtifacts> {
    const jsonPath = await modelJsonPath(this.target);
    let text: string;
    try {
      text = await readFile(jsonPath, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new Error(code === 'ENOENT' ? `no tfjs model at ${this.target} (missing ${jsonPath})` : `cannot read ${jsonPath}: ${(err as Error).message}`);
    }
    let modelJson: tf.io.ModelJSON;
    try {
      modelJson = JSON.parse(text) as tf.io.ModelJSON;
    } catch (err) {
      throw new Error(`${jsonPath} is not valid JSON: ${(err as Error).message}`);
    }
    if (modelJson.modelTopology == null) throw new Error(`${jsonPath} has no modelTopology: not a tfjs layers model`);
    const dir = path.dirname(jsonPath);
    return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
      const buffers: ArrayBuffer[] = [];
      for (const group of manifest) {
        for (const p of group.paths) {
          const file = path.resolve(dir, p);
          let buf: Buffer;
          try {
            buf = await readFile(file);
          } catch {
            throw new Error(`weights file ${file} (listed in ${jsonPath}) cannot be read`);
          }
          buffers.push(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
        }
      }
      const specs = tf.io.getWeightSpecs(manifest);
      return [specs, tf.io.CompositeArrayBuffer.join(buffers)];
    });
  }
}

/** An IOHandler reading/writing `<folder>/model.json` + `weights.bin` (or a given `*.json` path). */
export function fileSystem(target: string): tf.io.IOHandler {
  return new FileSystemHandler(target);
}

const FILE_SCHEME = 'file://';
// tf.io routers return null for URLs they do not handle, although the type says IOHandler.
const route = (url: string | string[]) =>
  (typeof url === 'string' && url.startsWith(FILE_SCHEME) ? fileSystem(url.slice(FILE_SCHEME.length)) : null) as tf.io.IOHandler;
let routerRegistered = false;

/** Routes `file://` URLs to fileSystem() for model.save / loadLayersModel, unless a handler (tfjs-node) already does. */
export function registerFileSystemRouter(): void {
  if (routerRegistered) return;
  const probe = `${FILE_SCHEME}/tmp/ganvas-probe`;
  if (tf.io.getSaveHandlers(probe).length === 0) {
    tf.io.registerSaveRouter(route);
  }
  if (tf.io.getLoadHandlers(probe).length === 0) {
    tf.io.registerLoadRouter(route);
  }
  routerRegistered = true;
}

/** Loads a tfjs layers model from a folder or model.json path. */
export async function loadLayersModelFromFile(target: string): Promise<tfl.LayersModel> {
  return tfl.loadLayersModel(fileSystem(target));
}
