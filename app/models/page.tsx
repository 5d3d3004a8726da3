'use client';
import { Fragment, useCallback, useEffect, useState } from 'react';
import { addByoModel, allModels, ensureRuntime, loadModels, removeByoModel, useModels, type SiteModel } from '@/lib/store';
import { parseModelEntry, type Task } from '@/lib/contract/manifest';
import { clearModelCache, modelCacheInfo } from '@/lib/runtime/cache';
import { ErrorBox } from '../_components/Messages';

function mb(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(0)} kB`;
}

function ModelCard({ m, onRemove }: { m: SiteModel; onRemove?: () => void }) {
  return (
    <li className="flex flex-col gap-2 rounded-xl border border-neutral-200 p-4 dark:border-neutral-800" data-testid="model-card" data-model-id={m.id}>
      <div className="flex items-start justify-between gap-2">
        <h3 className="font-semibold">{m.name}</h3>
        <span className="rounded-full bg-neutral-100 px-2 py-0.5 text-xs dark:bg-neutral-800">{m.origin === 'byo' ? 'yours' : m.task === 'translation' ? 'translation' : `x${m.scale}`}</span>
      </div>
      {m.description && <p className="text-sm text-neutral-600 dark:text-neutral-400">{m.description}</p>}
      <dl className="grid grid-cols-[minmax(0,7rem)_minmax(0,1fr)] gap-x-3 text-xs [&_dd]:break-words [&_dt]:break-words">
        <dt className="text-neutral-500">Task</dt>
        <dd>{m.task}{m.direction ? ` (${m.direction})` : ''}{m.dataset ? ` · ${m.dataset}` : ''}</dd>
        {m.tier && (<><dt className="text-neutral-500">Tier</dt><dd>{m.tier}</dd></>)}
        {m.parameters !== undefined && (<><dt className="text-neutral-500">Parameters</dt><dd>{m.parameters.toLocaleString()}</dd></>)}
        {m.gmacs256 !== undefined && (<><dt className="text-neutral-500">GMACs @256²</dt><dd>{m.gmacs256}</dd></>)}
        {m.bytes !== undefined && (<><dt className="text-neutral-500">Size</dt><dd>{mb(m.bytes)}</dd></>)}
        <dt className="text-neutral-500">Tensors</dt>
        <dd>
          {m.input.name} [{m.input.range.join(', ')}] → {m.output.name} [{m.output.range.join(', ')}], multiple of {m.multipleOf}
        </dd>
        {m.training && (<><dt className="text-neutral-500">Training</dt><dd>{m.training.data}{m.training.steps ? `, ${m.training.steps} steps` : ''}{m.training.hours ? `, ${m.training.hours} h` : ''}{m.training.backend ? ` on ${m.training.backend}` : ''}</dd></>)}
        {m.quality.map((q) => (
          <Fragment key={q.dataset}><dt className="text-neutral-500">{q.dataset}</dt><dd>{Object.entries(q.metrics).map(([k, v]) => `${k} ${Number(v.toFixed(4))}`).join(', ')}</dd></Fragment>
        ))}
      </dl>
      {onRemove && (
        <button type="button" onClick={onRemove} className="self-start rounded border border-neutral-300 px-2 py-0.5 text-xs hover:bg-neutral-100 dark:border-neutral-700 dark:hover:bg-neutral-800">
          Remove
        </button>
      )}
    </li>
  );
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'model';
}

function ByoForm() {
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState('');
  const [task, setTask] = useState<Task>('translation');
  const [scale, setScale] = useState(4);
  const [inRange, setInRange] = useState('-1,1');
  const [outRange, setOutRange] = useState('-1,1');
  const [multipleOf, setMultipleOf] = useState(4);
  const [busy, setBusy] = useState(false);
  const [problems, setProblems] = useState<string[] | null>(null);
  const [ok, setOk] = useState<string | null>(null);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setProblems(null);
    setOk(null);
    if (!file) return setProblems(['Choose an .onnx file first.']);
    if (!/\.onnx$/i.test(file.name)) return setProblems([`"${file.name}" is not an .onnx file.`]);
    setBusy(true);
    try {
      const bytes = await file.arrayBuffer();
      const sc = task === 'translation' ? 1 : scale;
      const ir = inRange.split(',').map(Number) as [number, number];
      const or = outRange.split(',').map(Number) as [number, number];
      const rt = await ensureRuntime();
      let v;
      try {
        v = await rt.validate(bytes.slice(0), { scale: sc, multipleOf, inRange: ir });
      } catch (err) {
        return setProblems([`The file could not be loaded as an ONNX model (corrupt or unsupported): ${(err as Error).message}`]);
      }
      if (v.problems.length) return setProblems(v.problems);
      const id = `byo-${slug(name || file.name.replace(/\.onnx$/i, ''))}`;
      let entry;
      try {
        entry = parseModelEntry({
          id, name: name || file.name, task, file: file.name, scale: sc,
          input: { name: v.inputs[0].name, range: ir }, output: { name: v.outputs[0].name, range: or },
          multipleOf, bytes: file.size, description: `Your model, added ${new Date().toLocaleDateString()}. Probe: ${v.probe?.in.join('x')} → ${v.probe?.out.join('x')}.`,
        });
      } catch (err) {
        return setProblems([(err as Error).message]);
      }
      await addByoModel(entry, bytes);
      setOk(`Added "${entry.name}". It is now available in ${task === 'translation' ? 'Translate and Webcam' : 'Upscale'}, and kept in this browser.`);
      setFile(null);
      setName('');
    } catch (err) {
      setProblems([(err as Error).message]);
    } finally {
      setBusy(false);
    }
  };

  const field = 'rounded-md border border-neutral-300 bg-white px-2 py-1 font-normal dark:border-neutral-700 dark:bg-neutral-900';
  return (
    <form onSubmit={submit} className="flex flex-col gap-3 rounded-xl border border-neutral-200 p-4 dark:border-neutral-800" aria-labelledby="byo-title">
      <h2 id="byo-title" className="text-lg font-semibold">Bring your own ONNX</h2>
      <p className="text-sm text-neutral-600 dark:text-neutral-400">
        The model must take and return one NCHW float32 RGB tensor (1×3×H×W) with dynamic H and W. It is loaded, checked and probed with a tiny input before it is added. It stays in this browser only.
      </p>
      <label
        className="flex flex-col gap-1 text-sm font-medium"
        onDragOver={(e) => e.preventDefault()}
        onDrop={(e) => {
          e.preventDefault();
          const f = e.dataTransfer.files[0];
          if (f) setFile(f);
        }}
      >
        ONNX file {file ? `(${file.name}, ${mb(file.size)})` : '(drop it here or choose)'}
        <input data-testid="byo-file" type="file" accept=".onnx" onChange={(e) => setFile(e.target.files?.[0] ?? null)} className="text-sm font-normal" />
      </label>
      <div className="grid gap-3 sm:grid-cols-3">
        <label className="flex flex-col gap-1 text-sm font-medium">
          Name
          <input data-testid="byo-name" className={field} value={name} onChange={(e) => setName(e.target.value)} placeholder="My model" />
        </label>
        <label className="flex flex-col gap-1 text-sm font-medium">
          Task
          <select data-testid="byo-task" className={field} value={task} onChange={(e) => {
            const t = e.target.value as Task;
            setTask(t);
            if (t === 'super-resolution') { setInRange('0,1'); setOutRange('0,1'); setMultipleOf(1); } else { setInRange('-1,1'); setOutRange('-1,1'); setMultipleOf(4); }
          }}>
            <option value="translation">Translation (same size)</option>
            <option value="super-resolution">Super-resolution</option>
          </select>
        </label>
        {task === 'super-resolution' && (
          <label className="flex flex-col gap-1 text-sm font-medium">
            Scale
            <select data-testid="byo-scale" className={field} value={scale} onChange={(e) => setScale(Number(e.target.value))}>
              {[2, 3, 4, 8].map((s) => <option key={s} value={s}>x{s}</option>)}
            </select>
          </label>
        )}
        <label className="flex flex-col gap-1 text-sm font-medium">
          Input range
          <select data-testid="byo-in-range" className={field} value={inRange} onChange={(e) => setInRange(e.target.value)}>
            <option value="-1,1">[-1, 1]</option>
            <option value="0,1">[0, 1]</option>
          </select>
        </label>
        <label className="flex flex-col gap-1 text-sm font-medium">
          Output range
          <select data-testid="byo-out-range" className={field} value={outRange} onChange={(e) => setOutRange(e.target.value)}>
            <option value="-1,1">[-1, 1]</option>
            <option value="0,1">[0, 1]</option>
          </select>
        </label>
        <label className="flex flex-col gap-1 text-sm font-medium">
          H and W multiple of
          <input data-testid="byo-multiple" type="number" min={1} max={64} className={field} value={multipleOf} onChange={(e) => setMultipleOf(Math.max(1, Number(e.target.value) || 1))} />
        </label>
      </div>
      <button type="submit" data-testid="byo-submit" disabled={busy} className="self-start rounded-md bg-sky-600 px-4 py-2 font-semibold text-white hover:bg-sky-700 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 disabled:opacity-50">
        {busy ? 'Checking…' : 'Validate and add'}
      </button>
      {problems && (
        <ErrorBox testId="byo-error">
          {'This model cannot be added:\n'}
          {problems.map((p) => `• ${p}`).join('\n')}
        </ErrorBox>
      )}
      {ok && <p role="status" data-testid="byo-ok" className="text-sm text-emerald-700 dark:text-emerald-300">{ok}</p>}
    </form>
  );
}

export default function ModelsPage() {
  const state = useModels();
  const [cache, setCache] = useState<{ entries: number; bytes: number } | null>(null);
  const refreshCache = useCallback(() => void modelCacheInfo().then(setCache).catch(() => setCache(null)), []);
  useEffect(() => {
    void loadModels();
    refreshCache();
  }, [refreshCache]);
  const models = allModels(state);
  return (
    <div className="flex flex-col gap-6">
      <header>
        <h1 className="text-2xl font-bold">Models</h1>
        <p className="text-neutral-600 dark:text-neutral-400">Every model runs on your device. Shipped models are cached by the browser after first use.</p>
      </header>
      <ErrorBox>{state.error ?? state.byoError}</ErrorBox>
      <section aria-label="Model cache" className="flex flex-wrap items-center gap-3 text-sm">
        <span data-testid="cache-size">Model cache: {cache ? `${cache.entries} file${cache.entries === 1 ? '' : 's'}, ${mb(cache.bytes)}` : 'unavailable'}</span>
        <button
          type="button"
          onClick={() => void clearModelCache().then(refreshCache)}
          className="rounded border border-neutral-300 px-2 py-0.5 hover:bg-neutral-100 dark:border-neutral-700 dark:hover:bg-neutral-800"
        >
          Clear cache
        </button>
      </section>
      <section aria-labelledby="catalog-title">
        <h2 id="catalog-title" className="mb-2 text-lg font-semibold">Catalog</h2>
        {state.status === 'ready' && !models.length && <p className="text-sm">No models are shipped yet. Add your own below.</p>}
        <ul className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
          {models.map((m) => (
            <ModelCard key={m.id} m={m} onRemove={m.origin === 'byo' ? () => void removeByoModel(m.id) : undefined} />
          ))}
        </ul>
      </section>
      <ByoForm />
    </div>
  );
}
