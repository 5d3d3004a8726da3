'use client';
import { useEffect, useMemo, useState } from 'react';
import { allModels, loadModels, useModels, type SiteModel } from '@/lib/store';
import type { Task } from '@/lib/contract/manifest';

/**
 * The catalog (shipped + your own) filtered to one task, plus a selection that survives list
 * changes. Until the user picks one, the first model is selected, or with `preferCheapest` the
 * one with the fewest GMACs per 256x256 frame (the webcam's default: the fastest to run live).
 */
export function useModelList(task: Task, { preferCheapest = false } = {}) {
  const state = useModels();
  useEffect(() => {
    void loadModels();
  }, []);
  const list = useMemo(() => allModels(state).filter((m) => m.task === task), [state, task]);
  const [id, setId] = useState('');
  const fallback = useMemo(
    () => (preferCheapest ? [...list].sort((a, b) => (a.gmacs256 ?? Infinity) - (b.gmacs256 ?? Infinity))[0] : list[0]) ?? null,
    [list, preferCheapest],
  );
  const selected: SiteModel | null = list.find((m) => m.id === id) ?? fallback;
  return { list, selected, setId, status: state.status, error: state.error ?? state.byoError };
}
