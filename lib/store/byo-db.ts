/** Bring-your-own models in IndexedDB: the validated manifest entry plus the ONNX bytes. */
import type { ModelEntry } from '../contract/manifest';

const DB = 'ganvas';
const STORE = 'byo-models';

export interface StoredModel {
  entry: ModelEntry;
  bytes: ArrayBuffer;
  addedAt: number;
}

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    if (typeof indexedDB === 'undefined') return reject(new Error('IndexedDB is not available in this browser'));
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'entry.id' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('could not open IndexedDB'));
  });
}

async function tx<T>(mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const t = db.transaction(STORE, mode);
      const r = fn(t.objectStore(STORE));
      t.oncomplete = () => resolve(r.result);
      t.onerror = () => reject(t.error ?? new Error('IndexedDB transaction failed'));
      t.onabort = () => reject(t.error ?? new Error('IndexedDB transaction aborted (storage full?)'));
    });
  } finally {
    db.close();
  }
}

export const byoDb = {
  list: () => tx<StoredModel[]>('readonly', (s) => s.getAll() as IDBRequest<StoredModel[]>),
  get: (id: string) => tx<StoredModel | undefined>('readonly', (s) => s.get(id) as IDBRequest<StoredModel | undefined>),
  put: (m: StoredModel) => tx('readwrite', (s) => s.put(m)),
  remove: (id: string) => tx('readwrite', (s) => s.delete(id)),
};
