'use client';
import { ImageTool } from '../_components/ImageTool';
import { ModelSelect } from '../_components/ModelSelect';
import { ErrorBox } from '../_components/Messages';
import { useModelList } from '../_components/useModelList';
import { useTranslateTool } from '@/lib/store/tool';
import Link from 'next/link';

export default function TranslatePage() {
  const { list, selected, setId, status, error } = useModelList('translation');
  return (
    <div className="flex flex-col gap-4">
      <header>
        <h1 className="text-2xl font-bold">Translate</h1>
        <p className="text-neutral-600 dark:text-neutral-400">Summer → winter, horse → zebra, photo → Monet. Large photos are processed in tiles at full resolution.</p>
      </header>
      <ErrorBox>{error}</ErrorBox>
      {status === 'ready' && !list.length && (
        <p className="text-sm">
          No translation models yet. <Link className="underline" href="/models">Add your own ONNX model</Link>.
        </p>
      )}
      <ImageTool
        store={useTranslateTool}
        model={selected}
        actionLabel="Translate"
        defaultTile={{ size: 512, overlap: 32 }}
        controls={<ModelSelect models={list} value={selected?.id ?? ''} onChange={setId} />}
      />
    </div>
  );
}
