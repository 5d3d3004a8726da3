'use client';
import { Fragment, useCallback, useEffect, useState } from 'react';
import { addByoModel, allModels, ensureRuntime, loadModels, removeByoModel, useModels, type SiteModel } from '@/lib/store';
import { parseModelEntry, type ModelEntry, type Task } from '@/lib/contract/manifest';
import { clearModelCache, modelCacheInfo } from '@/lib/runtime/cache';
import { ErrorBox } from '../_components/Messages';
import { KINDS, kindOf, type Kind } from '../_components/kinds';
import { plainNumbers, plainWhat } from './plain';
import thumbs from '@/public/thumbs/index.json';

const THUMBS = new Set<string>(thumbs);

function mb(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(0)} kB`;
}

function ModelCard({ m, onRemove }: { m: SiteModel; onRemove?: () => void }) {
  const numbers = plainNumbers(m);
  return (
    <li className="flex flex-col gap-2 rounded-xl border border-neutral-200 p-3 dark:border-neutral-800" data-testid="model-card" data-model-id={m.id}>
      <div className="flex items-start justify-between gap-2">
        <h3 className="font-semibold">{m.name}</h3>
        <span className="shrink-0 rounded-full bg-neutral-100 px-2 py-0.5 text-xs dark:bg-neutral-800">
          {m.origin === 'byo' ? 'yours · ' : ''}
          {m.task === 'translation' ? 'translate' : `x${m.scale} · ${KINDS[kindOf(m)].label.split(' ')[0].toLowerCase()}`}
        </span>
      </div>
      <div className="flex items-start gap-3">
        {THUMBS.has(m.id) && (
          <figure className="flex w-40 shrink-0 flex-col gap-0.5">
            <img src={`/thumbs/${m.id}.webp`} alt={`Before and after: ${m.name}`} width={258} height={128} loading="lazy" data-testid="model-thumb" className="h-auto w-full rounded" />
            <figcaption className="text-[11px] leading-tight text-neutral-500">{m.task === 'translation' ? 'Before · after' : 'Plain resize · this model'}</figcaption>
          </figure>
        )}
        <p className="text-sm" data-testid="model-what">{plainWhat(m)}</p>
      </div>
      {numbers.length > 0 && (
        <ul className="flex flex-col gap-0.5 text-xs text-neutral-700 dark:text-neutral-300" data-testid="model-numbers">
          {numbers.map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      )}
      <details className="text-xs" data-testid="model-details">
        <summary className="cursor-pointer text-neutral-600 dark:text-neutral-400">Technical details</summary>
        {m.description && <p className="mt-1 text-neutral-600 dark:text-neutral-400">{m.description}</p>}
        <dl className="mt-1 grid grid-cols-[minmax(0,7rem)_minmax(0,1fr)] gap-x-3 [&_dd]:break-words [&_dt]:break-words">
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
      </details>
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
  const [kind, setKind] = useState<Kind | ''>('');
  const [fileKey, setFileKey] = useState(0);
  /** A validated model whose name is already taken by one of yours: added only after the person says so. */
  const [pending, setPending] = useState<{ entry: ModelEntry; bytes: ArrayBuffer } | null>(null);

  const add = async (entry: ModelEntry, bytes: ArrayBuffer, replaced: boolean) => {
    await addByoModel(entry, bytes);
    const where = entry.task === 'translation' ? 'Translate and Webcam' : `Upscale (x${entry.scale}, ${KINDS[kindOf(entry)].label})`;
    setOk(`${replaced ? 'Replaced' : 'Added'} "${entry.name}". It is now available in ${where}, and kept in this browser.`);
    setFile(null);
    setName('');
    setPending(null);
    setFileKey((k) => k + 1); // a fresh file input: picking the same file again is a new pick
  };

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setProblems(null);
    setOk(null);
    setPending(null);
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
      if (task === 'super-resolution' && !kind) return setProblems(['Choose which kind of pictures this upscaler is for (Clean or Photo), so Upscale lists it in the right place.']);
      const id = `byo-${slug(name || file.name.replace(/\.onnx$/i, ''))}`;
      let entry;
      try {
        entry = parseModelEntry({
          id, name: name || file.name, task, file: file.name, scale: sc,
          input: { name: v.inputs[0].name, range: ir }, output: { name: v.outputs[0].name, range: or },
          multipleOf, bytes: file.size, ...(task === 'super-resolution' && kind === 'photo' ? { tier: 'photo' } : {}), description: `Your model, added ${new Date().toLocaleDateString()}. Probe: ${v.probe?.in.join('x')} → ${v.probe?.out.join('x')}.`,
        });
      } catch (err) {
        return setProblems([(err as Error).message]);
      }
      if (useModels.getState().byo.some((m) => m.id === entry.id)) return setPending({ entry, bytes });
      await add(entry, bytes, false);
    } catch (err) {
      setProblems([(err as Error).message]);
    } finally {
      setBusy(false);
    }
  };

  const field = 'rounded-md border border-neutral-300 bg-white px-2 py-1 font-normal dark:border-neutral-700 dark:bg-neutral-900';
  return (
    <form id="byo" onSubmit={submit} className="flex scroll-mt-4 flex-col gap-3 rounded-xl border border-neutral-200 p-4 dark:border-neutral-800" aria-labelledby="byo-title">
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
        <input key={fileKey} data-testid="byo-file" type="file" accept=".onnx" onChange={(e) => setFile(e.target.files?.[0] ?? null)} className="text-sm font-normal" />
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
            Kind of pictures
            <select data-testid="byo-kind" className={field} value={kind} onChange={(e) => setKind(e.target.value as Kind | '')}>
              <option value="">Choose…</option>
              {(Object.keys(KINDS) as Kind[]).map((k) => <option key={k} value={k}>{KINDS[k].label}</option>)}
            </select>
          </label>
        )}
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
      {pending && (
        <div role="alertdialog" aria-labelledby="byo-replace-text" data-testid="byo-replace-confirm" className="flex flex-col gap-2 rounded-lg border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950/50 dark:text-amber-200">
          <p id="byo-replace-text">You already have a model named &quot;{pending.entry.name}&quot;. Replace it with {file?.name ?? 'this file'}?</p>
          <div className="flex gap-2">
            <button type="button" data-testid="byo-replace-yes" onClick={() => void add(pending.entry, pending.bytes, true).catch((e: Error) => setProblems([e.message]))} className="rounded-md bg-amber-600 px-3 py-1 font-semibold text-white hover:bg-amber-700">
              Replace
            </button>
            <button type="button" data-testid="byo-replace-no" onClick={() => { setPending(null); setOk('Not added: your existing model is unchanged. Give this one another name to keep both.'); }} className="rounded-md border border-amber-400 px-3 py-1 font-medium hover:bg-amber-100 dark:hover:bg-amber-900">
              Keep the old one
            </button>
          </div>
        </div>
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
        <a href="#byo" data-testid="byo-jump" className="mt-2 inline-block rounded-md border border-sky-600 px-3 py-1.5 text-sm font-semibold text-sky-700 hover:bg-sky-50 dark:text-sky-300 dark:hover:bg-sky-950">
          Add your own model (ONNX) ↓
        </a>
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
        {(['translation', 'super-resolution'] as const).map((t) => {
          const group = models.filter((m) => m.task === t);
          if (!group.length) return null;
          return (
            <Fragment key={t}>
              <h3 className="mb-2 mt-4 font-semibold text-neutral-700 dark:text-neutral-300">{t === 'translation' ? 'Translate (same size, new style)' : 'Upscale (bigger, sharper)'}</h3>
              <ul className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3">
                {group.map((m) => (
                  <ModelCard key={m.id} m={m} onRemove={m.origin === 'byo' ? () => void removeByoModel(m.id) : undefined} />
                ))}
              </ul>
            </Fragment>
          );
        })}
      </section>
      <ByoForm />
    </div>
  );
}
