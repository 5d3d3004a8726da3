'use client';
import { useEffect, useRef, useState } from 'react';
import type { StoreApi, UseBoundStore } from 'zustand';
import type { SiteModel } from '@/lib/store';
import type { ToolState } from '@/lib/store/tool';
import type { Feather } from '@/lib/imaging';
import { ImagePicker } from './ImagePicker';
import { ErrorBox, Notice } from './Messages';
import { JobProgress } from './Progress';
import { CompareView, downloadCanvas } from './CompareView';

/** Shared body of Translate and Upscale: pick, run tiled with progress/cancel, compare, download. */
export function ImageTool({
  store,
  model,
  controls,
  actionLabel,
  defaultTile,
}: {
  store: UseBoundStore<StoreApi<ToolState>>;
  model: SiteModel | null;
  controls: React.ReactNode;
  actionLabel: string;
  defaultTile: { size: number; overlap: number };
}) {
  const { picked, decoding, pickError, running, result, error, notice, pick, run, cancel } = store();
  const canvasRef = useRef<HTMLCanvasElement | null>(null);
  const [feather, setFeather] = useState<Feather>('cosine');
  const [downloadError, setDownloadError] = useState<string | null>(null);

  // switching models mid-run stops the run; the upload and the last result stay
  useEffect(() => {
    if (running && model && running.modelId !== model.id) {
      cancel(`Stopped: you switched to "${model.name}" while a run was in progress. Press ${actionLabel} to run it.`);
    }
  }, [model, running, cancel, actionLabel]);

  const tile = model?.tile ?? defaultTile;
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

  return (
    <div className="flex flex-col gap-4">
      <div className="grid gap-4 md:grid-cols-[minmax(0,1fr)_minmax(0,1fr)]">
        <ImagePicker onFile={(f) => void pick(f)} />
        <div className="flex flex-col gap-3">
          {controls}
          <details className="text-sm">
            <summary className="cursor-pointer">Tiling</summary>
            <p className="mt-1 text-neutral-600 dark:text-neutral-400">
              Tiles of {tile.size}px with {tile.overlap}px overlap{model?.multipleOf && model.multipleOf > 1 ? `, multiples of ${model.multipleOf}` : ''}.
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
              disabled={!picked || !model || !!running || !!decoding}
              onClick={() => void go()}
              className="rounded-md bg-sky-600 px-4 py-2 font-semibold text-white hover:bg-sky-700 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 disabled:cursor-not-allowed disabled:opacity-50"
            >
              {decoding ? `Reading ${decoding}…` : actionLabel}
            </button>
            {result && (
              <button
                type="button"
                data-testid="download"
                onClick={() => {
                  setDownloadError(null);
                  if (canvasRef.current)
                    downloadCanvas(canvasRef.current, `${result.sourceName.replace(/\.[^.]+$/, '')}-${result.modelId}.png`).catch((e: Error) => setDownloadError(e.message));
                }}
                className="rounded-md border border-neutral-300 px-4 py-2 font-semibold hover:bg-neutral-100 focus-visible:outline-2 focus-visible:outline-sky-500 dark:border-neutral-700 dark:hover:bg-neutral-800"
              >
                Download PNG ({result.width}×{result.height})
              </button>
            )}
          </div>
          {picked && (
            <p className="text-sm text-neutral-600 dark:text-neutral-400" data-testid="picked">
              {picked.file.name}: {picked.width}×{picked.height} ({(picked.file.size / 1e6).toFixed(2)} MB)
              {model ? ` → ${picked.width * model.scale}×${picked.height * model.scale}` : ''}
            </p>
          )}
          {running && <JobProgress running={running} onCancel={() => cancel()} />}
          <ErrorBox testId="pick-error">{pickError}</ErrorBox>
          <ErrorBox>{error ?? downloadError}</ErrorBox>
          <Notice>{notice}</Notice>
        </div>
      </div>
      {result && picked ? (
        <section aria-label="Result" className="flex flex-col gap-1">
          <p className="text-sm text-neutral-600 dark:text-neutral-400" data-testid="result-info" data-ms={Math.round(result.ms)}>
            {result.modelName}: {result.width}×{result.height} in {result.ms < 10_000 ? `${Math.round(result.ms)} ms` : `${(result.ms / 1000).toFixed(1)} s`} ({result.tiles} tile{result.tiles > 1 ? 's' : ''})
            {result.sourceName !== picked.file.name ? ` · from ${result.sourceName}` : ''}
          </p>
          <CompareView originalUrl={picked.url} result={result.bitmap} width={result.width} height={result.height} canvasRef={canvasRef} />
        </section>
      ) : picked ? (
        <img src={picked.url} alt="Your image" className="max-h-[60vh] w-auto self-start rounded-lg border border-neutral-200 dark:border-neutral-800" />
      ) : null}
    </div>
  );
}
