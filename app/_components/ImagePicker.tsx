'use client';
import { useEffect, useRef, useState } from 'react';

/** Drop, paste or pick an image. Calls onFile with whatever the user gave; validation happens in the tool store. */
export function ImagePicker({ onFile, disabled, label = 'Choose an image' }: { onFile: (f: File) => void; disabled?: boolean; label?: string }) {
  const input = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);
  useEffect(() => {
    const onPaste = (e: ClipboardEvent) => {
      const f = Array.from(e.clipboardData?.files ?? [])[0];
      if (f) onFile(f);
    };
    window.addEventListener('paste', onPaste);
    return () => window.removeEventListener('paste', onPaste);
  }, [onFile]);
  return (
    <div
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        const f = e.dataTransfer.files[0];
        if (f) onFile(f);
      }}
      className={`flex flex-col items-center justify-center gap-2 rounded-xl border-2 border-dashed p-6 text-center text-sm ${
        over ? 'border-sky-500 bg-sky-50 dark:bg-sky-950/40' : 'border-neutral-300 dark:border-neutral-700'
      }`}
    >
      <p>Drop an image here, paste one (Ctrl/⌘+V), or</p>
      <label className="cursor-pointer rounded-md bg-neutral-900 px-3 py-1.5 font-medium text-white focus-within:outline-2 focus-within:outline-sky-500 dark:bg-white dark:text-neutral-900">
        {label}
        <input
          ref={input}
          type="file"
          accept="image/*"
          className="sr-only"
          disabled={disabled}
          data-testid="image-input"
          onChange={(e) => {
            const f = e.target.files?.[0];
            if (f) onFile(f);
            e.target.value = '';
          }}
        />
      </label>
      <p className="text-xs text-neutral-500">Your image never leaves this browser.</p>
    </div>
  );
}
