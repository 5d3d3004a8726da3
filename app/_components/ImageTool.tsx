'use client';
import { useEffect, useRef, useState } from 'react';
import type { StoreApi, UseBoundStore } from 'zustand';
import type { SiteModel } from '@/lib/store';
import type { ToolState } from '@/lib/store/tool';
import type { Feather } from '@/lib/imaging';
import { MAX_OUTPUT_PIXELS, MAX_OUTPUT_SIDE } from '@/lib/runtime/protocol';
import { ImagePicker } from './ImagePicker';
import { ErrorBox, Notice } from './Messages';
import { JobProgress } from './Progress';
import { CompareView, downloadCanvas } from './CompareView';

function fits(w: number, h: number, s: number): boolean {
  return w * s <= MAX_OUTPUT_SIDE && h * s <= MAX_OUTPUT_SIDE && w * s * h * s <= MAX_OUTPUT_PIXELS;
}

/** Said at pick time: the result would not fit the browser's canvas; the largest scale that fits, if any. */
function sizeProblem(w: number, h: number, scale: number, scales: number[]): { text: string; fallback: number | null } | null {
  if (fits(w, h, scale)) return null;
  const W = w * scale, H = h * scale;
  const fallback = [...scales].filter((s) => s < scale && fits(w, h, s)).sort((a, b) => b - a)[0] ?? null;
  const limit = `the browser's canvas limit (${MAX_OUTPUT_SIDE} px per side, ${(MAX_OUTPUT_PIXELS / 1e6) | 0} MP)`;
  const maxSide = Math.floor(Math.min(MAX_OUTPUT_SIDE / scale, Math.sqrt(MAX_OUTPUT_PIXELS / (scale * scale) * (w / h)), (MAX_OUTPUT_SIDE / scale) * (w / h)));
  const shrink = `${maxSide}×${Math.floor((maxSide * h) / w)}`;
  const text =
    `At x${scale} the result would be ${W}×${H} (${Math.round((W * H) / 1e6)} MP), over ${limit}. ` +
    (fallback
      ? `x${fallback} fits (${w * fallback}×${h * fallback}).`
      : scale > 1 && scales.length
        ? `No scale offered here fits: shrink the picture to at most ${shrink} first.`
        : `Shrink the picture to at most ${shrink} first.`);
  return { text, fallback };
}

/** Shared body of Translate and Upscale: pick, run tiled with progress/cancel, compare, download. */
export function ImageTool({
  store,
  model,
  controls,
  actionLabel,
  defaultTile,
  scales = [],
  onScale,
}: {
  store: UseBoundStore<StoreApi<ToolState>>;
  model: SiteModel | null;
  controls: React.ReactNode;
  actionLabel: string;
  defaultTile: { size: number; overlap: number; margin?: number };
  /** Scales the page offers (Upscale): a picture too large for the chosen one is offered the largest that fits. */
  scales?: number[];
  onScale?: (s: number) => void;
}) {
  const { picked, decoding, pickError, pickNote, running, result, error, notice, announce, pick, run, cancel } = store();
  const canvasRef = useRef<HTMLCanvasElement | null>(null);
  const resultRef = useRef<HTMLElement | null>(null);
  const [feather, setFeather] = useState<Feather>('cosine');
  const [downloadError, setDownloadError] = useState<string | null>(null);

  // switching models mid-run stops the run; the upload and the last result stay
  useEffect(() => {
    if (running && model && running.modelId !== model.id) {
      cancel(`Stopped: you switched to "${model.name}" while a run was in progress. Press ${actionLabel} to run it.`);
    }
  }, [model, running, cancel, actionLabel]);

  // a new result is brought into view (on a phone it is far below the button) and gets the focus
  const shownSeq = useRef(result?.seq ?? 0);
  useEffect(() => {
    if (!result || result.seq === shownSeq.current) return;
    shownSeq.current = result.seq;
    const el = resultRef.current;
    if (!el) return;
    const reduce = window.matchMedia?.('(prefers-reduced-motion: reduce)').matches;
    el.scrollIntoView({ behavior: reduce ? 'auto' : 'smooth', block: 'start' });
    el.focus({ preventScroll: true });
  }, [result]);

  const tile = model?.tile ?? defaultTile;
  const tooLarge = picked && model ? sizeProblem(picked.width, picked.height, model.scale, scales) : null;
  const go = () =>
    model &&
    run(model, {
      inRange: model.input.range as [number, number],
      outRange: model.output.range as [number, number],
      scale: model.scale,
      multipleOf: model.multipleOf,
      tile,
      feather,
    });
  const onFile = (f: File) => {
    setDownloadError(null);
    void pick(f);
  };
  const stale = !!(result && picked && result.source !== picked);

  return (
    <div className="flex flex-col gap-4">
      <div className="grid gap-4 md:grid-cols-[minmax(0,1fr)_minmax(0,1fr)]">
        <ImagePicker onFile={onFile} />
        <div className="flex flex-col gap-3">
          {controls}
          <details className="text-sm">
            <summary className="cursor-pointer">Tiling</summary>
            <p className="mt-1 text-neutral-600 dark:text-neutral-400">
              Tiles of {tile.size}px with {tile.overlap}px overlap{tile.margin ? ` (the outer ${tile.margin}px of each tile, the model's reach, are not used)` : ''}{model?.multipleOf && model.multipleOf > 1 ? `, multiples of ${model.multipleOf}` : ''}.
            </p>
            <label className="mt-1 flex items-center gap-2">
              Seam blending
              <select value={feather} onChange={(e) => setFeather(e.target.value as Feather)} className="rounded border border-neutral-300 bg-transparent px-1 dark:border-neutral-700">
                <option value="cosine">Cosine feather</option>
                <option value="linear">Linear feather</option>
              </select>
            </label>
          </details>
          <div className="flex flex-wrap gap-2">
            <button
              type="button"
              data-testid="run"
              disabled={!picked || !model || !!running || !!decoding || !!tooLarge}
              onClick={() => void go()}
              className="rounded-md bg-sky-600 px-4 py-2 font-semibold text-white hover:bg-sky-700 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 disabled:cursor-not-allowed disabled:opacity-50"
            >
              {decoding ? `Reading ${decoding}…` : actionLabel}
            </button>
            {result && (
              <button
                type="button"
                data-testid="download"
                data-source={result.sourceName}
                title={`Download the result for ${result.sourceName}`}
                onClick={() => {
                  setDownloadError(null);
                  if (canvasRef.current)
                    downloadCanvas(canvasRef.current, `${result.sourceName.replace(/\.[^.]+$/, '')}-${result.modelId}.png`).catch((e: Error) => setDownloadError(`Download failed: ${e.message}`));
                }}
                className="rounded-md border border-neutral-300 px-4 py-2 font-semibold hover:bg-neutral-100 focus-visible:outline-2 focus-visible:outline-sky-500 dark:border-neutral-700 dark:hover:bg-neutral-800"
              >
                Download PNG ({result.width}×{result.height}){stale ? ` of ${result.sourceName}` : ''}
              </button>
            )}
          </div>
          {picked && (
            <p className="text-sm text-neutral-600 dark:text-neutral-400" data-testid="picked">
              {picked.file.name}: {picked.width}×{picked.height} ({(picked.file.size / 1e6).toFixed(2)} MB)
              {model && !tooLarge ? ` → ${picked.width * model.scale}×${picked.height * model.scale}` : ''}
              {picked.alpha ? ' · transparent areas are kept' : ''}
            </p>
          )}
          {pickNote && (
            <p className="text-sm text-amber-800 dark:text-amber-300" data-testid="pick-note">
              {pickNote}
            </p>
          )}
          {tooLarge && (
            <div role="alert" data-testid="size-error" className="flex flex-col gap-2 rounded-lg border border-red-300 bg-red-50 p-3 text-sm text-red-900 dark:border-red-800 dark:bg-red-950/50 dark:text-red-200">
              <span>{tooLarge.text}</span>
              {tooLarge.fallback && onScale && (
                <button type="button" data-testid="use-fallback-scale" onClick={() => onScale(tooLarge.fallback!)} className="self-start rounded-md border border-red-400 px-3 py-1 font-medium hover:bg-red-100 dark:hover:bg-red-900">
                  Use x{tooLarge.fallback}
                </button>
              )}
            </div>
          )}
          {running && <JobProgress running={running} onCancel={() => cancel()} />}
          <ErrorBox testId="pick-error">{pickError}</ErrorBox>
          <ErrorBox>{error ?? downloadError}</ErrorBox>
          <Notice>{notice}</Notice>
          <p role="status" aria-live="polite" className="sr-only" data-testid="live">
            {announce}
          </p>
        </div>
      </div>
      {stale && picked && (
        <section aria-label="Your new image" className="flex flex-col gap-1">
          <p className="text-sm text-neutral-600 dark:text-neutral-400">
            New image, not processed yet: press {actionLabel}. The result below is for {result!.sourceName}.
          </p>
          <img src={picked.url} alt={`Your image: ${picked.file.name}`} data-testid="picked-preview" className="checkerboard max-h-[40vh] w-auto self-start rounded-lg border border-neutral-200 dark:border-neutral-800" />
        </section>
      )}
      {result ? (
        <section
          aria-label={`Result for ${result.sourceName}`}
          ref={resultRef}
          tabIndex={-1}
          data-testid="result"
          className="flex scroll-mt-2 flex-col gap-1 outline-none"
        >
          <p className="text-sm text-neutral-600 dark:text-neutral-400" data-testid="result-info" data-ms={Math.round(result.ms)} data-source={result.sourceName}>
            {stale ? 'Previous result, ' : ''}
            {result.sourceName} · {result.modelName}: {result.width}×{result.height} in {result.ms < 10_000 ? `${Math.round(result.ms)} ms` : `${(result.ms / 1000).toFixed(1)} s`} ({result.tiles} tile{result.tiles > 1 ? 's' : ''})
            {result.alpha ? ' · transparency kept' : ''}
          </p>
          <CompareView originalUrl={result.source.url} sourceName={result.sourceName} result={result.bitmap} width={result.width} height={result.height} canvasRef={canvasRef} />
        </section>
      ) : picked ? (
        <img src={picked.url} alt="Your image" data-testid="picked-preview" className="checkerboard max-h-[60vh] w-auto self-start rounded-lg border border-neutral-200 dark:border-neutral-800" />
      ) : null}
    </div>
  );
}
