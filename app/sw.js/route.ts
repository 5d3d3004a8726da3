/**
 * The service worker, served at /sw.js so the site works offline after the first visit:
 * pages network-first (cached copy when offline), hashed Next.js assets and onnxruntime-web's
 * /ort/ files cache-first. Models are not touched here: the inference worker keeps them in
 * its own Cache Storage bucket (ganvas-models-v1) with a size display and a Clear button.
 */
export const dynamic = 'force-static';

const SW = `
const CACHE = 'ganvas-static-v1';
const KEEP = new Set([CACHE, 'ganvas-models-v1']);
const PRECACHE = ['/', '/translate', '/upscale', '/webcam', '/models', '/models/manifest.json'];

self.addEventListener('install', (e) => {
  self.skipWaiting();
  e.waitUntil(caches.open(CACHE).then((c) => Promise.all(PRECACHE.map((u) => c.add(u).catch(() => undefined)))));
});

self.addEventListener('activate', (e) => {
  e.waitUntil(
    caches.keys().then((names) => Promise.all(names.filter((n) => n.startsWith('ganvas-') && !KEEP.has(n)).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

async function cacheFirst(req) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(req, { ignoreSearch: false });
  if (hit) return hit;
  const res = await fetch(req);
  if (res.ok && res.type === 'basic') cache.put(req, res.clone()).catch(() => undefined);
  return res;
}

async function networkFirst(req) {
  const cache = await caches.open(CACHE);
  try {
    const res = await fetch(req);
    if (res.ok && res.type === 'basic') cache.put(req, res.clone()).catch(() => undefined);
    return res;
  } catch (err) {
    const hit = (await cache.match(req)) || (req.mode === 'navigate' ? await cache.match(new URL(req.url).pathname) : undefined);
    if (hit) return hit;
    throw err;
  }
}

self.addEventListener('fetch', (e) => {
  const req = e.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/models/') && url.pathname.endsWith('.onnx')) return; // the inference worker caches models
  if (url.pathname.startsWith('/_next/static/') || url.pathname.startsWith('/ort/')) e.respondWith(cacheFirst(req));
  else e.respondWith(networkFirst(req));
});
`;

export function GET(): Response {
  return new Response(SW, {
    headers: {
      'content-type': 'application/javascript; charset=utf-8',
      'cache-control': 'no-cache',
      'service-worker-allowed': '/',
    },
  });
}
