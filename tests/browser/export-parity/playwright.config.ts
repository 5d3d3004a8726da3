/**
 * Runs only the export-parity browser test, without the Next site (which it does not use):
 *   npx playwright test -c tests/browser/export-parity/playwright.config.ts
 * `npm run test:browser` runs it too, with the project's config.
 */
import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS } from '../../../playwright.config';

export default defineConfig({
  testDir: '..',
  testMatch: 'export-parity.spec.ts',
  timeout: 180_000,
  workers: 1,
  reporter: [['list']],
  use: { launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS } },
});
