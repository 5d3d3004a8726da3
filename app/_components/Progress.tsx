'use client';
import type { Running } from '@/lib/store/tool';

function fmt(s: number): string {
  if (!Number.isFinite(s)) return '…';
  return s < 60 ? `${Math.ceil(s)} s` : `${Math.floor(s / 60)} min ${Math.ceil(s % 60)} s`;
}

/** Tiles done, ETA and a Cancel button for a running image job. */
export function JobProgress({ running, onCancel }: { running: Running; onCancel: () => void }) {
  const { done, total, elapsedMs, phase } = running;
  const pct = total ? Math.round((done / total) * 100) : 0;
  const eta = done > 0 ? ((elapsedMs / done) * (total - done)) / 1000 : NaN;
  return (
    <div className="flex flex-col gap-2" data-testid="progress">
      <div className="flex items-center justify-between text-sm">
        <span data-testid="progress-text">
          {phase === 'loading model' ? 'Loading model…' : phase === 'preparing' ? 'Preparing image…' : total ? `Tile ${done} of ${total} · ${pct}%` : 'Decoding image…'}
          {done > 0 && done < total ? ` · about ${fmt(eta)} left` : ''}
        </span>
        <button
          type="button"
          onClick={onCancel}
          className="rounded-md border border-neutral-300 px-3 py-1 text-sm font-medium hover:bg-neutral-100 focus-visible:outline-2 focus-visible:outline-sky-500 dark:border-neutral-700 dark:hover:bg-neutral-800"
        >
          Cancel
        </button>
      </div>
      <div role="progressbar" aria-label="Progress" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} className="h-2 overflow-hidden rounded bg-neutral-200 dark:bg-neutral-800">
        <div className="h-full bg-sky-500 transition-[width]" style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}
