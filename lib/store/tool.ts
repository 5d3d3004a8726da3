/**
 * State of an image tool (Translate, Upscale): the picked image, the running tiled job, and the
 * last finished result. A failure or a cancel never drops the upload or the previous result.
 */
'use client';
import { create, type StoreApi, type UseBoundStore } from 'zustand';
import { RuntimeError, type ImageJob } from '../runtime/client';
import type { ImageSpec } from '../runtime/protocol';
import { ensureModel, type SiteModel } from './index';

export interface Picked {
  file: File;
  url: string;
  width: number;
  height: number;
}

export interface ToolResult {
  bitmap: ImageBitmap;
  width: number;
  height: number;
  ms: number;
  tiles: number;
  modelId: string;
  modelName: string;
  sourceName: string;
}

export interface Running {
  modelId: string;
  job: ImageJob | null;
  phase: 'loading model' | 'running';
  done: number;
  total: number;
  elapsedMs: number;
  startedAt: number;
}

export interface ToolState {
  picked: Picked | null;
  /** Name of the file being decoded after a pick; run() is refused until it is done. */
  decoding: string | null;
  pickError: string | null;
  running: Running | null;
  result: ToolResult | null;
  error: string | null;
  notice: string | null;
  pick: (file: File) => Promise<void>;
  run: (model: SiteModel, spec: ImageSpec) => Promise<void>;
  cancel: (notice?: string) => void;
  clearMessages: () => void;
}

const IMAGE_EXT = /\.(png|jpe?g|webp|gif|bmp|avif|ico|svg|tiff?|heic|heif)$/i;

export function createToolStore(): UseBoundStore<StoreApi<ToolState>> {
  return create<ToolState>((set, get) => {
    const pickFile = async (file: File) => {
      set({ pickError: null, notice: null });
      if (file.type && !file.type.startsWith('image/') && !IMAGE_EXT.test(file.name)) {
        set({ pickError: `"${file.name}" is not an image (${file.type}). Pick a PNG, JPEG or WebP photo.` });
        return;
      }
      let bmp: ImageBitmap;
      try {
        bmp = await createImageBitmap(file);
      } catch {
        set({ pickError: `This browser could not decode "${file.name}" (${(file.size / 1e6).toFixed(1)} MB): the file is corrupt, not an image, or too large to decode.` });
        return;
      }
      const { width, height } = bmp;
      bmp.close();
      const old = get().picked;
      if (old) URL.revokeObjectURL(old.url);
      set({ picked: { file, url: URL.createObjectURL(file), width, height }, error: null });
    };
    return {
      picked: null,
      decoding: null,
      pickError: null,
      running: null,
      result: null,
      error: null,
      notice: null,
      async pick(file) {
        set({ decoding: file.name });
        try {
          await pickFile(file);
        } finally {
          set({ decoding: null });
        }
      },
      async run(model, spec) {
        const picked = get().picked;
        if (!picked || get().decoding) return;
        if (get().running) get().cancel();
        const startedAt = performance.now();
        set({ running: { modelId: model.id, job: null, phase: 'loading model', done: 0, total: 0, elapsedMs: 0, startedAt }, error: null, notice: null });
        const stillMine = () => get().running?.startedAt === startedAt;
        try {
          const rt = await ensureModel(model);
          if (!stillMine()) return;
          const job = rt.runImage(model.id, picked.file, spec, {
            decoded: (_w, _h, tiles) => stillMine() && set((s) => ({ running: s.running && { ...s.running, total: tiles } })),
            progress: (done, total, elapsedMs) => stillMine() && set((s) => ({ running: s.running && { ...s.running, done, total, elapsedMs } })),
          });
          set((s) => ({ running: s.running && { ...s.running, job, phase: 'running' } }));
          const r = await job.promise;
          if (!stillMine()) {
            r.bitmap.close();
            return;
          }
          get().result?.bitmap.close();
          set({
            result: { ...r, modelId: model.id, modelName: model.name, sourceName: picked.file.name },
            running: null,
          });
        } catch (e) {
          if (!stillMine()) return;
          const cancelled = e instanceof RuntimeError && e.code === 'cancelled';
          set({ running: null, ...(cancelled ? {} : { error: (e as Error).message }) });
        }
      },
      cancel(notice = 'Cancelled. Your image and any previous result are kept.') {
        const r = get().running;
        if (!r) return;
        r.job?.cancel();
        set({ running: null, notice });
      },
      clearMessages: () => set({ error: null, notice: null, pickError: null }),
    };
  });
}

export const useTranslateTool = createToolStore();
export const useUpscaleTool = createToolStore();
