/**
 * Site state (zustand): settings, the runtime (one inference worker), and the model catalog
 * (shipped manifest + bring-your-own models from IndexedDB).
 */
'use client';
import { create } from 'zustand';
import { persist } from 'zustand/middleware';
import { parseManifest, type ModelEntry } from '../contract/manifest';
import { backendFromUrl, createRuntime, type Runtime } from '../runtime/client';
import type { BackendPref } from '../runtime/protocol';
import { byoDb } from './byo-db';

export type SiteModel = ModelEntry & { origin: 'shipped' | 'byo' };

// ---------------------------------------------------------------- settings
interface Settings {
  backendPref: BackendPref;
  setBackendPref: (p: BackendPref) => void;
}
export const useSettings = create<Settings>()(
  persist((set) => ({ backendPref: 'auto', setBackendPref: (backendPref) => set({ backendPref }) }), { name: 'ganvas-settings' }),
);

// ---------------------------------------------------------------- runtime
interface RuntimeState {
  status: 'idle' | 'starting' | 'ready' | 'error';
  runtime: Runtime | null;
  pref: BackendPref | null;
  error: string | null;
  /** Model keys loaded into the current runtime. */
  loaded: Record<string, true>;
}
export const useRuntime = create<RuntimeState>(() => ({ status: 'idle', runtime: null, pref: null, error: null, loaded: {} }));

let starting: Promise<Runtime> | null = null;

/** The backend preference in effect: `?backend=` in the URL wins over the saved setting. */
export function effectivePref(): BackendPref {
  const fromUrl = typeof location !== 'undefined' ? backendFromUrl(location.search) : null;
  return fromUrl ?? useSettings.getState().backendPref;
}

export function ensureRuntime(): Promise<Runtime> {
  const pref = effectivePref();
  const st = useRuntime.getState();
  if (st.runtime && st.pref === pref) return Promise.resolve(st.runtime);
  if (starting && st.pref === pref) return starting;
  st.runtime?.dispose();
  useRuntime.setState({ status: 'starting', runtime: null, pref, error: null, loaded: {} });
  const p = createRuntime(pref).then(
    (rt) => {
      if (starting === p) useRuntime.setState({ status: 'ready', runtime: rt, error: null });
      return rt;
    },
    (e: Error) => {
      if (starting === p) useRuntime.setState({ status: 'error', error: `Could not start the runtime: ${e.message}` });
      throw e;
    },
  );
  starting = p;
  return p;
}

const loading = new Map<string, Promise<void>>();

/** Loads a model into the runtime once (shipped models via Cache Storage, BYO from IndexedDB). */
export async function ensureModel(m: SiteModel): Promise<Runtime> {
  const rt = await ensureRuntime();
  if (useRuntime.getState().loaded[m.id]) return rt;
  const k = `${rt.backend}:${m.id}`;
  let p = loading.get(k);
  if (!p) {
    p = (async () => {
      if (m.origin === 'byo') {
        const stored = await byoDb.get(m.id);
        if (!stored) throw new Error(`model "${m.name}" is no longer in browser storage`);
        await rt.load(m.id, { bytes: stored.bytes.slice(0) });
      } else {
        const url = `/models/${m.file}`;
        await rt.load(m.id, { url }, `${url}?v=${m.bytes ?? 0}`);
      }
      if (useRuntime.getState().runtime === rt) useRuntime.setState((s) => ({ loaded: { ...s.loaded, [m.id]: true } }));
    })().finally(() => loading.delete(k));
    loading.set(k, p);
  }
  await p;
  return rt;
}

// ---------------------------------------------------------------- models
interface ModelsState {
  status: 'idle' | 'loading' | 'ready' | 'error';
  shipped: SiteModel[];
  byo: SiteModel[];
  error: string | null;
  byoError: string | null;
}
export const useModels = create<ModelsState>(() => ({ status: 'idle', shipped: [], byo: [], error: null, byoError: null }));

export function allModels(s: ModelsState): SiteModel[] {
  return [...s.shipped, ...s.byo];
}

let modelsLoad: Promise<void> | null = null;
export function loadModels(force = false): Promise<void> {
  if (modelsLoad && !force) return modelsLoad;
  useModels.setState({ status: 'loading' });
  modelsLoad = (async () => {
    try {
      const res = await fetch('/models/manifest.json', { cache: 'no-cache' });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const m = parseManifest(await res.json());
      useModels.setState({ shipped: m.models.map((e) => ({ ...e, origin: 'shipped' as const })), error: null });
    } catch (e) {
      useModels.setState({ error: `Could not read the model list (/models/manifest.json): ${(e as Error).message}` });
    }
    try {
      const stored = await byoDb.list();
      useModels.setState({ byo: stored.sort((a, b) => a.addedAt - b.addedAt).map((s) => ({ ...s.entry, origin: 'byo' as const })), byoError: null });
    } catch (e) {
      useModels.setState({ byoError: `Your own models could not be read from browser storage: ${(e as Error).message}` });
    }
    useModels.setState({ status: 'ready' });
  })();
  return modelsLoad;
}

export async function addByoModel(entry: ModelEntry, bytes: ArrayBuffer): Promise<void> {
  await byoDb.put({ entry, bytes, addedAt: Date.now() });
  useModels.setState((s) => ({ byo: [...s.byo.filter((m) => m.id !== entry.id), { ...entry, origin: 'byo' }] }));
  useRuntime.setState((s) => {
    const loaded = { ...s.loaded };
    delete loaded[entry.id];
    return { loaded };
  });
}

export async function removeByoModel(id: string): Promise<void> {
  await byoDb.remove(id);
  useModels.setState((s) => ({ byo: s.byo.filter((m) => m.id !== id) }));
}
