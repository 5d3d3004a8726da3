'use client';
import { useMemo, useState } from 'react';
import Link from 'next/link';
import { ImageTool } from '../_components/ImageTool';
import { ErrorBox } from '../_components/Messages';
import { useModelList } from '../_components/useModelList';
import { useUpscaleTool } from '@/lib/store/tool';
import type { ModelEntry } from '@/lib/contract/manifest';

const TIERS = ['real-time', 'quality', 'photo'] as const;
const SETS = ['Set5', 'Set14', 'BSD100'];

/** "Y-PSNR Set5 / Set14 / BSD100: 36.90 / 32.50 / 31.40 dB": the measured numbers a user chooses by. */
function qualityLine(m: ModelEntry): string | null {
  const psnr = SETS.map((set) => m.quality.find((q) => q.dataset === set)?.metrics.psnrY);
  if (psnr.every((v) => v === undefined)) return null;
  return `Y-PSNR ${SETS.join(' / ')}: ${psnr.map((v) => (v === undefined ? '-' : v.toFixed(2))).join(' / ')} dB`;
}

export default function UpscalePage() {
  const { list, status, error } = useModelList('super-resolution');
  const scales = useMemo(() => [...new Set(list.map((m) => m.scale))].sort((a, b) => a - b), [list]);
  const [scale, setScale] = useState<number | null>(null);
  const [tier, setTier] = useState<string | null>(null);
  const s = scale !== null && scales.includes(scale) ? scale : (scales.includes(4) ? 4 : scales[0]);
  const forScale = list.filter((m) => m.scale === s);
  const tiers = [...new Set(forScale.map((m) => m.tier ?? 'quality'))].sort((a, b) => TIERS.indexOf(a) - TIERS.indexOf(b));
  const t = tier !== null && tiers.includes(tier as (typeof TIERS)[number]) ? tier : tiers[0];
  const candidates = forScale.filter((m) => (m.tier ?? 'quality') === t);
  const [modelId, setModelId] = useState('');
  const model = candidates.find((m) => m.id === modelId) ?? candidates[0] ?? null;
  const sel = 'rounded-md border border-neutral-300 bg-white px-2 py-1.5 font-normal dark:border-neutral-700 dark:bg-neutral-900';
  return (
    <div className="flex flex-col gap-4">
      <header>
        <h1 className="text-2xl font-bold">Upscale</h1>
        <p className="text-neutral-600 dark:text-neutral-400">x2 or x4 super-resolution for any size: tiled with overlap and blended seams.</p>
      </header>
      <ErrorBox>{error}</ErrorBox>
      {status === 'ready' && !list.length && (
        <p className="text-sm">
          No super-resolution models yet. <Link className="underline" href="/models">Add your own ONNX model</Link>.
        </p>
      )}
      <ImageTool
        store={useUpscaleTool}
        model={model}
        actionLabel="Upscale"
        defaultTile={{ size: 192, overlap: 16 }}
        controls={
          <div className="flex flex-wrap gap-3">
            <label className="flex flex-col gap-1 text-sm font-medium">
              Scale
              <select data-testid="scale-select" className={sel} value={s ?? ''} onChange={(e) => setScale(Number(e.target.value))} disabled={!scales.length}>
                {scales.map((x) => (
                  <option key={x} value={x}>
                    x{x}
                  </option>
                ))}
              </select>
            </label>
            <label className="flex flex-col gap-1 text-sm font-medium">
              Tier
              <select data-testid="tier-select" className={sel} value={t ?? ''} onChange={(e) => setTier(e.target.value)} disabled={!tiers.length}>
                {tiers.map((x) => (
                  <option key={x} value={x}>
                    {x}
                  </option>
                ))}
              </select>
            </label>
            <label className="flex flex-col gap-1 text-sm font-medium">
              Model
              <select data-testid="model-select" className={sel} value={model?.id ?? ''} onChange={(e) => setModelId(e.target.value)} disabled={!candidates.length}>
                {candidates.map((m) => (
                  <option key={m.id} value={m.id}>
                    {m.name}
                    {m.origin === 'byo' ? ' (yours)' : ''}
                  </option>
                ))}
              </select>
            </label>
            {model && (
              <p data-testid="model-info" className="basis-full text-xs text-neutral-600 dark:text-neutral-400">
                {[qualityLine(model), model.parameters !== undefined ? `${model.parameters.toLocaleString('en-US')} parameters` : null, model.description].filter(Boolean).join(' · ')}
              </p>
            )}
          </div>
        }
      />
    </div>
  );
}
