'use client';
import type { SiteModel } from '@/lib/store';

/** A model's name as a dropdown shows it: the name, "(yours)" for your own, and the tier only when the name does not already say it. */
export function optionLabel(m: SiteModel): string {
  const tier = m.tier && !m.name.toLowerCase().includes(m.tier.toLowerCase()) ? ` · ${m.tier}` : '';
  return `${m.name}${m.origin === 'byo' ? ' (yours)' : ''}${tier}`;
}

export function ModelSelect({ models, value, onChange, label = 'Model' }: { models: SiteModel[]; value: string; onChange: (id: string) => void; label?: string }) {
  return (
    <label className="flex flex-col gap-1 text-sm font-medium">
      {label}
      <select
        data-testid="model-select"
        value={value}
        onChange={(e) => onChange(e.target.value)}
        disabled={!models.length}
        className="rounded-md border border-neutral-300 bg-white px-2 py-1.5 font-normal dark:border-neutral-700 dark:bg-neutral-900"
      >
        {!models.length && <option value="">No models available</option>}
        {models.map((m) => (
          <option key={m.id} value={m.id}>
            {optionLabel(m)}
          </option>
        ))}
      </select>
    </label>
  );
}
