/**
 * The webcam's GPU passes (lib/runtime/gpu-render.ts) on a real WebGPU device (SwiftShader here):
 *   - GpuFrameUploader: camera frame (ImageBitmap) -> NCHW float32 GPUBuffer in the model's
 *     range, mirrored or not; read back with mapAsync and compared with the expected values;
 *   - NchwRenderPass (the pass CamGpuRenderer draws the webcam canvas with): NCHW GPUBuffer ->
 *     RGBA in one render pass, into a texture read back with copyTextureToBuffer.
 * Not covered here: presenting to a WebGPU canvas. Headless Chromium on SwiftShader cannot: a
 * canvas pass fails with "A valid external Instance reference no longer exists" (main thread and
 * worker alike; with ANGLE-on-Vulkan flags it runs but the canvas reads back black), so the site
 * reads frames back to the CPU on software adapters. The module is transpiled with TypeScript
 * and evaluated in the page.
 */
import { test, expect } from '@playwright/test';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const source = ts.transpileModule(readFileSync(path.resolve('lib/runtime/gpu-render.ts'), 'utf8'), {
  compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
}).outputText.replace(/^export /gm, '');

test('webcam GPU passes: frame upload (with mirror) and NCHW render pass give the expected pixels on WebGPU', async ({ page }) => {
  await page.goto('/models'); // any page of the site: a secure context (localhost) for navigator.gpu
  const r = await page.evaluate(async (moduleJs) => {
    const mod = new Function(`${moduleJs}; return { NchwRenderPass, GpuFrameUploader };`)() as {
      NchwRenderPass: new (d: GPUDevice, f: GPUTextureFormat) => {
        render(b: GPUBuffer, w: number, h: number, r: readonly [number, number], target: () => GPUTextureView, at?: (s: string) => void): void;
        destroy(): void;
      };
      GpuFrameUploader: new (d: GPUDevice) => { upload(f: ImageBitmap, r: readonly [number, number], mirror: boolean): GPUBuffer; destroy(): void };
    };
    const adapter = await navigator.gpu?.requestAdapter();
    if (!adapter) return { error: 'no WebGPU adapter' };
    const device = await adapter.requestDevice();
    const w = 13, h = 7; // odd sizes: partial 8x8 workgroups
    // a frame with distinct values per pixel and channel
    const rgba = new Uint8ClampedArray(w * h * 4);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const i = (y * w + x) * 4;
        rgba.set([(x * 19 + y * 7) % 256, (x * 3 + y * 31 + 50) % 256, (255 - x * 11 - y * 5 + 512) % 256, 255], i);
      }
    const frame = await createImageBitmap(new ImageData(rgba, w, h));

    // ---- upload: NCHW in [-1, 1], mirrored and not
    const uploader = new mod.GpuFrameUploader(device);
    const readBuffer = async (buf: GPUBuffer, n: number) => {
      const staging = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
      const enc = device.createCommandEncoder();
      enc.copyBufferToBuffer(buf, 0, staging, 0, n * 4);
      device.queue.submit([enc.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      const out = Array.from(new Float32Array(staging.getMappedRange().slice(0)));
      staging.destroy();
      return out;
    };
    const plain = await readBuffer(uploader.upload(frame, [-1, 1], false), 3 * w * h);
    const mirrored = await readBuffer(uploader.upload(frame, [-1, 1], true), 3 * w * h);
    let uploadErr = 0, mirrorErr = 0;
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const want = (v: number) => (v / 255) * 2 - 1;
          const o = c * w * h + y * w + x;
          uploadErr = Math.max(uploadErr, Math.abs(plain[o] - want(rgba[(y * w + x) * 4 + c])));
          mirrorErr = Math.max(mirrorErr, Math.abs(mirrored[o] - want(rgba[(y * w + (w - 1 - x)) * 4 + c])));
        }

    // ---- render: the uploaded (unmirrored) buffer drawn with range [-1, 1] gives the frame back
    const pass = new mod.NchwRenderPass(device, 'rgba8unorm');
    const target = device.createTexture({ size: [w, h], format: 'rgba8unorm', usage: GPUTextureUsage.RENDER_ATTACHMENT | GPUTextureUsage.COPY_SRC });
    const rowBytes = 256; // bytesPerRow must be a multiple of 256
    const readTexture = async (): Promise<number[]> => {
      const staging = device.createBuffer({ size: rowBytes * h, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
      const enc = device.createCommandEncoder();
      enc.copyTextureToBuffer({ texture: target }, { buffer: staging, bytesPerRow: rowBytes }, [w, h]);
      device.queue.submit([enc.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      const all = new Uint8Array(staging.getMappedRange());
      const out: number[] = [];
      for (let y = 0; y < h; y++) out.push(...all.subarray(y * rowBytes, y * rowBytes + w * 4));
      staging.unmap();
      staging.destroy();
      return out;
    };
    const stages: string[] = [];
    pass.render(uploader.upload(frame, [-1, 1], false), w, h, [-1, 1], () => target.createView(), (s: string) => stages.push(s));
    const px = await readTexture();
    let renderErr = 0;
    for (let i = 0; i < px.length; i++) renderErr = Math.max(renderErr, Math.abs(px[i] - rgba[i]));
    // values outside the range are clamped: 3 in [-1, 1] -> 255, -5 -> 0, 0 -> mid-grey
    const clampBuf = device.createBuffer({ size: 3 * w * h * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    const vals = new Float32Array(3 * w * h);
    vals.fill(3, 0, w * h);
    vals.fill(-5, w * h, 2 * w * h);
    device.queue.writeBuffer(clampBuf, 0, vals);
    pass.render(clampBuf, w, h, [-1, 1], () => target.createView());
    const clamped = (await readTexture()).slice((3 * w + 5) * 4, (3 * w + 5) * 4 + 4);
    pass.destroy();
    uploader.destroy();
    const info = (adapter as GPUAdapter & { info?: { vendor: string; architecture: string } }).info;
    return { uploadErr, mirrorErr, renderErr, clamped, stages, adapter: `${info?.vendor}/${info?.architecture}` };
  }, source);
  console.log(JSON.stringify(r));
  expect(r.error).toBeUndefined();
  expect(r.uploadErr).toBeLessThan(1e-6);
  expect(r.mirrorErr).toBeLessThan(1e-6);
  expect(r.stages).toEqual(['uniform', 'bindgroup', 'texture', 'encode', 'submit']);
  expect(r.adapter).toMatch(/\w/);
  expect(r.renderErr).toBeLessThanOrEqual(1); // unorm rounding
  const [red, green, blue] = r.clamped!;
  expect([red, green]).toEqual([255, 0]);
  expect(Math.abs(blue - 127.5)).toBeLessThanOrEqual(1);
});
