// Browser tests drive Debian's Chromium (Playwright's own browser download cannot run here).
// Installs it with apt when it is missing and we are root; otherwise says what to do.
import { existsSync } from 'node:fs';
import { execSync } from 'node:child_process';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// libvulkan1 lets Node's Dawn (the `webgpu` package) load Chromium's SwiftShader ICD.
const needsVulkan = !existsSync('/usr/lib/x86_64-linux-gnu/libvulkan.so.1') && !existsSync('/usr/lib/aarch64-linux-gnu/libvulkan.so.1');
if (existsSync(CHROMIUM) && !needsVulkan) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot) {
  console.error(`Chromium not found at ${CHROMIUM}. Install it: sudo apt-get install -y chromium libvulkan1 (or set CHROMIUM_PATH).`);
  process.exit(1);
}
console.log('installing Debian chromium and libvulkan1 for the browser tests ...');
execSync('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium libvulkan1 >/dev/null', { stdio: 'inherit' });
