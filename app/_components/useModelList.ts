'use client';
import { useEffect, useMemo, useState } from 'react';
import { allModels, loadModels, useModels, type SiteModel } from '@/lib/store';
import type { Task } from '@/lib/contract/manifest';

/** The catalog (shipped + your own) filtered to one task, plus a selection that survives list changes. */
export function useModelList(task: Task) {
  const state = useModels();
  useEffect(() => {
    void loadModels();
  }, []);
  const list = useMemo(() => allModels(state).filter((m) => m.task === task), [state, task]);
  const [id, setId] = useState('');
  const selected: SiteModel | null = list.find((m) => m.id === id) ?? list[0] ?? null;
  return { list, selected, setId, status: state.status, error: state.error ?? state.byoError };
}
