/**
 * Typed messages between the page and the inference worker (lib/runtime/worker.ts).
 * Every request carries an `id`; the worker answers with the same id (progress messages may repeat).
 */
import type { Range } from '../imaging';
import type { Normalization, TiledSpec } from './whole-image';

export type BackendPref = 'auto' | 'wasm' | 'webgpu';
export type Backend = 'webgpu' | 'wasm';

export interface BackendInfo {
  backend: Backend;
  /** Why this backend runs, in words for the badge. */
  reason: string;
  threads: number;
  crossOriginIsolated: boolean;
}

export type ModelSource = { url: string } | { bytes: ArrayBuffer };

export interface TensorMeta {
  name: string;
  type: string;
  /** Dimensions; strings are symbolic (dynamic) dims, -1 when unknown. */
  shape: (number | string)[];
}

/** The tiled-run spec of lib/runtime/whole-image, plus how the site chooses normalization statistics. */
export interface ImageSpec extends TiledSpec {
  /**
   * Instance-norm models: 'whole-image' (default) takes normalization statistics from the whole photo
   * (downscaled to statsSize when larger) and runs every tile with them; 'per-tile' lets each tile use its
   * own (the patchwork of before; for comparison). Ignored for models without instance norm.
   */
  norm?: { mode?: 'whole-image' | 'per-tile'; statsSize?: number };
}

export interface CamSpec {
  inRange: Range;
  outRange: Range;
  mirror: boolean;
}

export type Request =
  | { type: 'init'; id: number; prefer: BackendPref; wasmPaths: string }
  | { type: 'load'; id: number; key: string; source: ModelSource; cacheKey?: string }
  | { type: 'unload'; id: number; key: string }
  | { type: 'run'; id: number; key: string; data: Float32Array; dims: number[] }
  | { type: 'image'; id: number; key: string; source: Blob | ImageBitmap; spec: ImageSpec }
  | { type: 'cancel'; id: number; target: number }
  | { type: 'validate'; id: number; bytes: ArrayBuffer; scale: number; multipleOf: number; inRange: Range }
  | { type: 'cam-start'; id: number; key: string; canvas: OffscreenCanvas; spec: CamSpec }
  | { type: 'cam-frame'; id: number; frame: ImageBitmap; spec: CamSpec }
  | { type: 'cam-snapshot'; id: number }
  | { type: 'cam-stop'; id: number };

export type ErrorCode = 'decode' | 'cancelled' | 'contract' | 'load' | 'too-large' | 'run' | 'unknown';

export type Response =
  | { type: 'ready'; id: number; info: BackendInfo }
  | { type: 'loaded'; id: number; key: string; inputs: TensorMeta[]; outputs: TensorMeta[]; ms: number; fromCache: boolean }
  | { type: 'ok'; id: number }
  | { type: 'result'; id: number; data: Float32Array; dims: number[]; ms: number }
  | { type: 'decoded'; id: number; width: number; height: number; tiles: number }
  | { type: 'progress'; id: number; done: number; total: number; elapsedMs: number }
  | {
      type: 'image-done'; id: number; bitmap: ImageBitmap; width: number; height: number; ms: number; tiles: number;
      /** How normalization was done: 'none' (no instance norm), 'per-tile', or 'whole-image' (statistics taken at statsFrom). */
      normalization: Normalization; statsFrom: { width: number; height: number } | null;
    }
  | { type: 'validated'; id: number; problems: string[]; inputs: TensorMeta[]; outputs: TensorMeta[]; probe?: { in: number[]; out: number[] } }
  | { type: 'cam-done'; id: number; latencyMs: number; backend: Backend; gpuOutput: boolean; gpuInput: boolean; note: string }
  | { type: 'snapshot'; id: number; blob: Blob }
  | { type: 'error'; id: number; code: ErrorCode; message: string };

/** Largest output the site will assemble: Chromium's canvas area limit (and 32767 px per side). */
export const MAX_OUTPUT_PIXELS = 268_435_456;
export const MAX_OUTPUT_SIDE = 32_767;
