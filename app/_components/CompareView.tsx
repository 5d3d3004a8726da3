'use client';
import { useEffect, useRef, useState } from 'react';

const ZOOMS = [
  ['fit', 'Fit'],
  ['1', '100%'],
  ['2', '200%'],
  ['4', '400%'],
] as const;

/** Tallest the comparison box gets, in viewport heights (Fit shows the whole picture inside it). */
const BOX_VH = 70;

/**
 * Before/after comparison: the original (scaled to the result's size) under the result, split by an
 * accessible slider that can also be dragged on the picture itself; "Fit" shows the whole picture,
 * zoom inspects pixels; the result canvas holds the full-resolution output. Transparent areas show
 * on a checkerboard.
 */
export function CompareView({
  originalUrl,
  sourceName,
  result,
  width,
  height,
  canvasRef,
}: {
  originalUrl: string;
  sourceName: string;
  result: ImageBitmap;
  width: number;
  height: number;
  canvasRef: React.RefObject<HTMLCanvasElement | null>;
}) {
  const [pos, setPos] = useState(50);
  const [zoom, setZoom] = useState<(typeof ZOOMS)[number][0]>('fit');
  const localRef = useRef<HTMLCanvasElement | null>(null);
  const dragging = useRef(false);
  useEffect(() => {
    const c = localRef.current;
    if (!c) return;
    c.width = width;
    c.height = height;
    const ctx = c.getContext('2d')!;
    ctx.clearRect(0, 0, width, height);
    ctx.drawImage(result, 0, 0);
  }, [result, width, height]);
  const z = zoom === 'fit' ? null : Number(zoom);
  const style: React.CSSProperties = z
    ? { width: (width * z) / (window.devicePixelRatio || 1), maxWidth: 'none', touchAction: 'pan-x pan-y' }
    : { width: `min(100%, calc((${BOX_VH}vh - 2px) * ${width} / ${height}))`, marginInline: 'auto', touchAction: 'none' };
  const moveTo = (e: React.PointerEvent<HTMLDivElement>) => {
    const r = e.currentTarget.getBoundingClientRect();
    if (r.width > 0) setPos(Math.round(Math.min(100, Math.max(0, ((e.clientX - r.left) / r.width) * 100))));
  };
  const pixelated = z && z > 1 ? 'pixelated' : 'auto';
  return (
    <div className="flex flex-col gap-2">
      <div className="flex flex-wrap items-center gap-3 text-sm">
        <label className="flex flex-1 items-center gap-2">
          <span className="whitespace-nowrap">Before / after</span>
          <input type="range" min={0} max={100} value={pos} onChange={(e) => setPos(Number(e.target.value))} aria-label="Before/after split position" className="flex-1" data-testid="split" />
        </label>
        <div role="group" aria-label="Zoom" className="flex gap-1">
          {ZOOMS.map(([k, label]) => (
            <button
              key={k}
              type="button"
              aria-pressed={zoom === k}
              onClick={() => setZoom(k)}
              className={`rounded px-2 py-0.5 focus-visible:outline-2 focus-visible:outline-sky-500 ${zoom === k ? 'bg-neutral-900 text-white dark:bg-white dark:text-neutral-900' : 'border border-neutral-300 dark:border-neutral-700'}`}
            >
              {label}
            </button>
          ))}
        </div>
      </div>
      <div
        data-testid="compare-box"
        className="overflow-auto rounded-lg border border-neutral-200 bg-neutral-100 dark:border-neutral-800 dark:bg-neutral-900"
        style={{ maxHeight: `${BOX_VH}vh` }}
        tabIndex={0}
        aria-label="Comparison view; drag on the picture to move the divider, scroll to pan when zoomed"
      >
        <div
          className="checkerboard relative cursor-ew-resize select-none"
          style={{ ...style, aspectRatio: `${width} / ${height}` }}
          data-testid="compare-stage"
          onPointerDown={(e) => {
            if (e.button !== 0 || (e.pointerType === 'touch' && z)) return;
            dragging.current = true;
            e.currentTarget.setPointerCapture(e.pointerId);
            moveTo(e);
          }}
          onPointerMove={(e) => dragging.current && moveTo(e)}
          onPointerUp={() => (dragging.current = false)}
          onPointerCancel={() => (dragging.current = false)}
        >
          <img
            src={originalUrl}
            alt={`Before: ${sourceName}`}
            data-testid="before-image"
            data-source={sourceName}
            className="block h-full w-full select-none"
            style={{ imageRendering: pixelated }}
            draggable={false}
          />
          <canvas
            ref={(el) => {
              localRef.current = el;
              canvasRef.current = el;
            }}
            data-testid="result-canvas"
            data-source={sourceName}
            aria-label={`After: result for ${sourceName}`}
            className="absolute inset-0 h-full w-full"
            style={{ clipPath: `inset(0 0 0 ${pos}%)`, imageRendering: pixelated }}
          />
          <div aria-hidden className="pointer-events-none absolute inset-y-0 w-0.5 bg-white/80 shadow" style={{ left: `${pos}%` }} />
          <span className="pointer-events-none absolute left-2 top-2 rounded bg-black/60 px-1.5 text-xs text-white">Before</span>
          <span className="pointer-events-none absolute right-2 top-2 rounded bg-black/60 px-1.5 text-xs text-white">After</span>
        </div>
      </div>
    </div>
  );
}

/** Saves a canvas as PNG at its full resolution (transparency included). */
export async function downloadCanvas(canvas: HTMLCanvasElement, name: string): Promise<void> {
  const blob = await new Promise<Blob | null>((r) => canvas.toBlob(r, 'image/png'));
  if (!blob) throw new Error('the browser could not encode the PNG');
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
