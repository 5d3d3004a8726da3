import { defineConfig } from '@playwright/test';

/** Flags that let headless Debian Chromium run here: no sandbox as root, no network chatter, WebGPU on SwiftShader. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--enable-unsafe-webgpu',
];

const PORT = Number(process.env.GANVAS_TEST_PORT ?? 3123);

export default defineConfig({
  testDir: 'tests/browser',
  testMatch: '**/*.spec.ts',
  timeout: 180_000,
  workers: 1,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    // The site registers a service worker for offline use; tests that route requests need it off
    // (routes do not see requests a service worker answers). site-offline.spec.ts turns it on.
    serviceWorkers: 'block',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: CHROMIUM_ARGS,
    },
  },
  webServer: {
    command: `node scripts/copy-ort.mjs && npx next build && npx next start -H 127.0.0.1 -p ${PORT}`,
    url: `http://127.0.0.1:${PORT}`,
    timeout: 600_000,
    reuseExistingServer: !process.env.CI,
  },
});
