/**
 * UpscalerJS peers (https://github.com/thekevinscott/UpscalerJS): ESRGAN-slim/-medium (RDN,
 * pixel range [0,255]) and ESRGAN-thick (RRDN, range [0,1]) ship as tfjs layers models inside
 * their npm packages (devDependencies here). We load the model.json straight from the package
 * and register the two custom layers the thick models need (./upscaler-layers).
 */
import path from 'node:path';
import { createRequire } from 'node:module';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadLayersModel } from '../../checkpoint';
import { tfjsRunner, type Range, type SrRunner } from './runners';
import { registerUpscalerLayers } from './upscaler-layers';

export const UPSCALER_MODELS = ['slim', 'medium', 'thick'] as const;
export type UpscalerModelName = (typeof UPSCALER_MODELS)[number];

export interface UpscalerModelInfo {
  name: UpscalerModelName;
  packageName: string;
  modelJson: string;
  range: Range;
  architecture: 'rdn' | 'rrdn';
}

export function upscalerModelInfo(name: UpscalerModelName, scale: number): UpscalerModelInfo {
  const packageName = `@upscalerjs/esrgan-${name}`;
  const require = createRequire(import.meta.url);
  let pkgDir: string;
  try {
    // The packages' "exports" hide package.json: resolve the entry point and walk up to the package root.
    pkgDir = require.resolve(packageName);
    while (!(path.basename(pkgDir) === `esrgan-${name}` && path.basename(path.dirname(pkgDir)) === '@upscalerjs')) {
      const up = path.dirname(pkgDir);
      if (up === pkgDir) throw new Error('package root not found');
      pkgDir = up;
    }
  } catch {
    throw new Error(`${packageName} is not installed (npm install --save-dev ${packageName})`);
  }
  const thick = name === 'thick';
  return {
    name,
    packageName,
    modelJson: path.join(pkgDir, 'models', `x${scale}`, 'model.json'),
    range: thick ? [0, 1] : [0, 255],
    architecture: thick ? 'rrdn' : 'rdn',
  };
}

export async function loadUpscalerModel(name: UpscalerModelName, scale: number): Promise<{ model: tfl.LayersModel; info: UpscalerModelInfo }> {
  registerUpscalerLayers();
  const info = upscalerModelInfo(name, scale);
  const model = await loadLayersModel(info.modelJson);
  return { model, info };
}

/** A runner for UpscalerJS esrgan-<name> at x<scale> on the current tfjs backend. */
export async function upscalerRunner(name: UpscalerModelName, scale: number, opts: { tile?: number; overlap?: number } = {}): Promise<SrRunner> {
  const { model, info } = await loadUpscalerModel(name, scale);
  return tfjsRunner(model, { name: `upscalerjs-esrgan-${name}`, scale, range: info.range, tile: opts.tile, overlap: opts.overlap ?? 16 });
}
