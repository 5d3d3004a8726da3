/**
 * State of an image tool (Translate, Upscale): the picked image, the running tiled job, and the
 * last finished result. A failure or a cancel never drops the upload or the previous result.
 *
 * Pairing rule: a result keeps the picture it was made from (`result.source`). Picking another
 * image never re-labels an old result: the comparison and Download always show the result next
 * to its own source, named.
 */
'use client';
import { create, type StoreApi, type UseBoundStore } from 'zustand';
import { RuntimeError, type ImageJob } from '../runtime/client';
import type { ImageSpec } from '../runtime/protocol';
import { finishOutput, hasAlpha, minInputSide, needsPadding, prepareInput, sniffImage } from '../imaging';
import { ensureModel, type SiteModel } from './index';

export interface Picked {
  file: File;
  url: string;
  width: number;
  height: number;
  /** True when the picture has transparent pixels (kept through the run); null when not checked (very large images). */
  alpha: boolean | null;
  /** JPEG input: the Upscale page preselects the photo kind for it. */
  jpeg: boolean;
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
  /** The picture this result was made from (the "Before" of the comparison). */
  source: Picked;
  /** True when the picture's transparency was re-attached to the result. */
  alpha: boolean;
  /** Set for every new result, so the page can bring it into view once. */
  seq: number;
}

export interface Running {
  modelId: string;
  job: ImageJob | null;
  phase: 'loading model' | 'preparing' | 'running';
  done: number;
  total: number;
  elapsedMs: number;
  startedAt: number;
  sourceName: string;
  /** The picture being processed (kept alive even if another one is picked meanwhile). */
  source: Picked;
}

export interface ToolState {
  picked: Picked | null;
  /** Name of the file being decoded after a pick; run() is refused until it is done. */
  decoding: string | null;
  pickError: string | null;
  /** A fact about the last pick people should know (an SVG was rasterized, an animation uses its first frame). */
  pickNote: string | null;
  running: Running | null;
  result: ToolResult | null;
  error: string | null;
  notice: string | null;
  /** The last completion, in words, for the page's aria-live region. */
  announce: string;
  pick: (file: File) => Promise<void>;
  run: (model: SiteModel, spec: ImageSpec) => Promise<void>;
  cancel: (notice?: string) => void;
  clearMessages: () => void;
}

const IMAGE_EXT = /\.(png|jpe?g|webp|gif|bmp|avif|ico|svg|tiff?|heic|heif)$/i;
/** Above this many pixels transparency is checked on a smoothed ~4 MP copy (reading every pixel would take seconds and ~4 bytes per pixel). */
const ALPHA_CHECK_MAX_PIXELS = 40e6;

function mb(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}

function readPixels(src: CanvasImageSource, w: number, h: number): Uint8ClampedArray {
  const c = new OffscreenCanvas(w, h);
  const ctx = c.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('this browser has no 2D canvas');
  ctx.drawImage(src, 0, 0);
  return ctx.getImageData(0, 0, w, h).data;
}

/** Draws an SVG at its intrinsic size into a PNG file; throws a plain message when it has none or cannot be drawn. */
async function rasterizeSvg(file: File): Promise<{ file: File; width: number; height: number }> {
  const url = URL.createObjectURL(new Blob([await file.arrayBuffer()], { type: 'image/svg+xml' }));
  try {
    const img = new Image();
    img.src = url;
    try {
      await img.decode();
    } catch {
      throw new Error(`"${file.name}" is an SVG drawing this browser could not draw (invalid SVG, or it refers to outside files). Export it as PNG and pick that.`);
    }
    const w = img.naturalWidth, h = img.naturalHeight;
    if (!w || !h) throw new Error(`"${file.name}" is an SVG drawing without a size (no width and height). Export it as PNG at the size you want and pick that.`);
    const c = document.createElement('canvas');
    c.width = w;
    c.height = h;
    c.getContext('2d')!.drawImage(img, 0, 0, w, h);
    const blob = await new Promise<Blob | null>((r) => c.toBlob(r, 'image/png'));
    if (!blob) throw new Error(`"${file.name}" could not be turned into a picture (${w}x${h}).`);
    return { file: new File([blob], file.name.replace(/\.svg$/i, '') + '.png', { type: 'image/png' }), width: w, height: h };
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** A runtime failure in words: what went wrong for this image, never onnxruntime internals (those go to the console). */
export function plainRunError(e: unknown, model: SiteModel, w: number, h: number): string {
  if (e instanceof RuntimeError) {
    if (e.code === 'too-large' || e.code === 'contract' || e.code === 'decode') return e.message;
    if (e.code === 'load') {
      if (/could not download|HTTP \d+/.test(e.message)) return `"${model.name}" could not be downloaded (${e.message.replace(/^could not download /, '')}). Check the connection and try again.`;
      if (/no longer in browser storage/.test(e.message)) return `"${model.name}" is no longer in this browser's storage. Add it again on the Models page.`;
      return `"${model.name}" could not be loaded in this browser. If it is your own model, check it on the Models page.`;
    }
    if (e.code === 'run') return `"${model.name}" could not process this ${w}×${h} image. Try another model, or a smaller or larger version of the picture.`;
  }
  const msg = (e as Error)?.message ?? String(e);
  if (/out of memory|allocation|Array buffer/i.test(msg)) return `Not enough memory to process this ${w}×${h} image here. Try a smaller image or scale.`;
  if (/worker crashed/i.test(msg)) return 'The processing worker stopped unexpectedly (out of memory?). Reload the page and try a smaller image.';
  return `Something went wrong while processing this ${w}×${h} image. Reload the page and try again.`;
}

export function createToolStore(): UseBoundStore<StoreApi<ToolState>> {
  return create<ToolState>((set, get) => {
    /** Revokes a picture's object URL once neither the pick, a run nor the result uses it. */
    const release = (p: Picked | null | undefined) => {
      const s = get();
      if (p && s.picked !== p && s.result?.source !== p && s.running?.source !== p) URL.revokeObjectURL(p.url);
    };
    let seq = 0;

    const pickFile = async (file: File) => {
      // an error belongs to the action that caused it: a new pick clears the last run's messages
      set({ pickError: null, pickNote: null, notice: null, error: null });
      if (file.type && !file.type.startsWith('image/') && !IMAGE_EXT.test(file.name)) {
        set({ pickError: `"${file.name}" is not an image (${file.type}). Pick a PNG, JPEG or WebP photo.` });
        return;
      }
      let note: string | null = null;
      let head: Uint8Array;
      try {
        head = new Uint8Array(await file.slice(0, 4096).arrayBuffer());
      } catch {
        set({ pickError: `"${file.name}" could not be read (was it moved or deleted?).` });
        return;
      }
      let sniff = sniffImage(head, file.type);
      if (sniff.kind === 'gif') sniff = sniffImage(new Uint8Array(await file.arrayBuffer()), file.type);
      if (sniff.kind === 'svg') {
        try {
          const r = await rasterizeSvg(file);
          file = r.file;
          note = `SVG drawing: used as a ${r.width}×${r.height} picture (its own size).`;
        } catch (e) {
          set({ pickError: (e as Error).message });
          return;
        }
      } else if ((sniff.kind === 'gif' || sniff.kind === 'apng') && sniff.frames > 1) {
        note = `Animated ${sniff.kind === 'gif' ? 'GIF' : 'PNG'} (${sniff.frames} frames): only the first frame is used.`;
      }
      let bmp: ImageBitmap;
      try {
        bmp = await createImageBitmap(file);
      } catch {
        set({ pickError: `This browser could not decode "${file.name}" (${mb(file.size)}): the file is corrupt, not an image, or too large to decode.` });
        return;
      }
      const { width, height } = bmp;
      const jpeg = file.type === 'image/jpeg' || (head[0] === 0xff && head[1] === 0xd8);
      let alpha: boolean | null = false;
      if (!jpeg) {
        try {
          if (width * height <= ALPHA_CHECK_MAX_PIXELS) alpha = hasAlpha(readPixels(bmp, width, height));
          else {
            // A huge picture is checked on a smoothed copy of about 4 MP: any transparent area still lowers alpha there.
            const f = Math.sqrt(4e6 / (width * height));
            const w = Math.max(1, Math.round(width * f)), h = Math.max(1, Math.round(height * f));
            const small = await createImageBitmap(bmp, { resizeWidth: w, resizeHeight: h, resizeQuality: 'high' });
            try {
              alpha = hasAlpha(readPixels(small, w, h));
            } finally {
              small.close();
            }
          }
        } catch {
          alpha = null;
          note = (note ? `${note} ` : '') + 'Transparency could not be checked on this picture: any transparent areas may come back opaque.';
        }
      }
      bmp.close();
      const old = get().picked;
      set({ picked: { file, url: URL.createObjectURL(file), width, height, alpha, jpeg }, pickNote: note });
      release(old);
    };

    /**
     * The picture as the worker should get it: the file itself when the model can take it as it is,
     * else an opaque, padded bitmap plus what is needed to restore the result.
     */
    const prepare = async (picked: Picked, multipleOf: number) => {
      const small = needsPadding(picked.width, picked.height, multipleOf);
      if (!picked.alpha && !small) return null;
      const bmp = await createImageBitmap(picked.file);
      try {
        const prep = prepareInput(readPixels(bmp, picked.width, picked.height), picked.width, picked.height, { minSide: small ? minInputSide(multipleOf) : 1 });
        const bitmap = await createImageBitmap(new ImageData(prep.rgba as Uint8ClampedArray<ArrayBuffer>, prep.width, prep.height));
        return { prep, bitmap };
      } finally {
        bmp.close();
      }
    };

    return {
      picked: null,
      decoding: null,
      pickError: null,
      pickNote: null,
      running: null,
      result: null,
      error: null,
      notice: null,
      announce: '',
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
        set({
          running: { modelId: model.id, job: null, phase: 'loading model', done: 0, total: 0, elapsedMs: 0, startedAt, sourceName: picked.file.name, source: picked },
          error: null,
          notice: null,
          pickError: null,
        });
        const stillMine = () => get().running?.startedAt === startedAt;
        const done = (p: Partial<ToolState>) => {
          set(p);
          release(picked);
        };
        try {
          const rt = await ensureModel(model);
          if (!stillMine()) return;
          set((s) => ({ running: s.running && { ...s.running, phase: 'preparing' } }));
          const prepared = await prepare(picked, spec.multipleOf);
          if (!stillMine()) {
            prepared?.bitmap.close();
            release(picked);
            return;
          }
          const job = rt.runImage(model.id, prepared?.bitmap ?? picked.file, spec, {
            decoded: (_w, _h, tiles) => stillMine() && set((s) => ({ running: s.running && { ...s.running, total: tiles } })),
            progress: (done, total, elapsedMs) => stillMine() && set((s) => ({ running: s.running && { ...s.running, done, total, elapsedMs } })),
          });
          set((s) => ({ running: s.running && { ...s.running, job, phase: 'running' } }));
          let r = await job.promise;
          if (!stillMine()) {
            r.bitmap.close();
            release(picked);
            return;
          }
          if (prepared) {
            const raw = readPixels(r.bitmap, r.width, r.height);
            r.bitmap.close();
            const out = finishOutput(raw, prepared.prep, spec.scale);
            const bitmap = await createImageBitmap(new ImageData(out.rgba as Uint8ClampedArray<ArrayBuffer>, out.width, out.height), { premultiplyAlpha: 'none' });
            r = { ...r, bitmap, width: out.width, height: out.height };
            if (!stillMine()) {
              bitmap.close();
              release(picked);
              return;
            }
          }
          const old = get().result;
          old?.bitmap.close();
          const secs = r.ms < 10_000 ? `${Math.round(r.ms)} ms` : `${(r.ms / 1000).toFixed(1)} s`;
          set({
            result: {
              ...r,
              modelId: model.id,
              modelName: model.name,
              sourceName: picked.file.name,
              source: picked,
              alpha: !!prepared?.prep.alpha,
              seq: ++seq,
            },
            running: null,
            announce: `Done: ${picked.file.name} → ${r.width}×${r.height} with ${model.name} in ${secs}. The result is below.`,
          });
          release(old?.source);
        } catch (e) {
          if (!stillMine()) return release(picked);
          const cancelled = e instanceof RuntimeError && e.code === 'cancelled';
          if (!cancelled) console.warn(`[ganvas] ${model.id} on ${picked.file.name} (${picked.width}x${picked.height}):`, e);
          done({
            running: null,
            ...(cancelled ? {} : { error: plainRunError(e, model, picked.width, picked.height), announce: `Failed: ${picked.file.name} could not be processed.` }),
          });
        }
      },
      cancel(notice = 'Cancelled. Your image and any previous result are kept.') {
        const r = get().running;
        if (!r) return;
        r.job?.cancel();
        set({ running: null, notice });
        release(r.source);
      },
      clearMessages: () => set({ error: null, notice: null, pickError: null }),
    };
  });
}

export const useTranslateTool = createToolStore();
export const useUpscaleTool = createToolStore();
