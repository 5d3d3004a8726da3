/** Model cache (Cache Storage, filled by the worker): size and clearing, for the Models page. */
export const MODEL_CACHE = 'ganvas-models-v1';

export async function modelCacheInfo(): Promise<{ entries: number; bytes: number }> {
  if (typeof caches === 'undefined') return { entries: 0, bytes: 0 };
  const cache = await caches.open(MODEL_CACHE);
  const keys = await cache.keys();
  let bytes = 0;
  for (const k of keys) {
    const r = await cache.match(k);
    if (r) bytes += (await r.blob()).size;
  }
  return { entries: keys.length, bytes };
}

export async function clearModelCache(): Promise<void> {
  if (typeof caches !== 'undefined') await caches.delete(MODEL_CACHE);
}
