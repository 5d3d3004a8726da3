'use client';
import { useEffect } from 'react';
import { ensureRuntime, useRuntime, useSettings } from '@/lib/store';
import type { BackendPref } from '@/lib/runtime/protocol';

/** Says which backend runs and why; lets the user force WASM or WebGPU. */
export function BackendBadge() {
  const { status, runtime, error, pref } = useRuntime();
  const { backendPref, setBackendPref } = useSettings();
  useEffect(() => {
    ensureRuntime().catch(() => undefined);
  }, [backendPref]);
  const urlForced = pref !== null && pref !== backendPref;
  const label =
    status === 'ready' && runtime ? (runtime.backend === 'webgpu' ? 'WebGPU' : 'WASM') : status === 'error' ? 'No runtime' : 'Starting…';
  const tone =
    status === 'ready' && runtime?.backend === 'webgpu'
      ? 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900/40 dark:text-emerald-200'
      : status === 'error'
        ? 'bg-red-100 text-red-900 dark:bg-red-900/40 dark:text-red-200'
        : 'bg-sky-100 text-sky-900 dark:bg-sky-900/40 dark:text-sky-200';
  return (
    <div className="flex flex-wrap items-center gap-2 text-xs">
      <span
        data-testid="backend-badge"
        data-backend={status === 'ready' ? runtime?.backend : status}
        title={runtime?.reason ?? error ?? ''}
        className={`rounded-full px-2.5 py-1 font-semibold ${tone}`}
      >
        {label}
      </span>
      <span data-testid="backend-reason" className="max-w-[28rem] truncate text-neutral-600 dark:text-neutral-400" title={runtime?.reason ?? error ?? ''}>
        {status === 'ready' ? runtime?.reason : (error ?? 'loading onnxruntime-web')}
        {urlForced ? ' (set by ?backend= in the URL)' : ''}
      </span>
      <label className="flex items-center gap-1">
        <span className="sr-only">Inference backend</span>
        <select
          aria-label="Inference backend"
          value={backendPref}
          onChange={(e) => setBackendPref(e.target.value as BackendPref)}
          className="rounded border border-neutral-300 bg-transparent px-1 py-0.5 dark:border-neutral-700"
        >
          <option value="auto">Auto</option>
          <option value="wasm">Force WASM</option>
          <option value="webgpu">Force WebGPU</option>
        </select>
      </label>
    </div>
  );
}
