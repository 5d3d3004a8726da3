/// <reference types="@webgpu/types" />
/**
 * Draws an NCHW float32 GPUBuffer (an onnxruntime-web output kept on the GPU with
 * preferredOutputLocation: 'gpu-buffer') straight onto a canvas with one render pass on
 * ORT's own GPUDevice: no copy back to the CPU.
 */
const SHADER = /* wgsl */ `
struct P { w: u32, h: u32, lo: f32, hi: f32 };
@group(0) @binding(0) var<storage, read> img: array<f32>;
@group(0) @binding(1) var<uniform> p: P;
@vertex fn vs(@builtin(vertex_index) i: u32) -> @builtin(position) vec4f {
  let xy = array<vec2f, 3>(vec2f(-1.0, -3.0), vec2f(3.0, 1.0), vec2f(-1.0, 1.0));
  return vec4f(xy[i], 0.0, 1.0);
}
@fragment fn fs(@builtin(position) pos: vec4f) -> @location(0) vec4f {
  let x = min(u32(pos.x), p.w - 1u);
  let y = min(u32(pos.y), p.h - 1u);
  let plane = p.w * p.h;
  let i = y * p.w + x;
  let rgb = vec3f(img[i], img[plane + i], img[2u * plane + i]);
  return vec4f(clamp((rgb - vec3f(p.lo)) / (p.hi - p.lo), vec3f(0.0), vec3f(1.0)), 1.0);
}`;

/**
 * The render pass on its own: an NCHW float32 GPUBuffer in `range` -> a colour attachment of
 * `format` (a canvas's current texture, or any texture: tests read one back).
 */
export class NchwRenderPass {
  private pipeline: GPURenderPipeline;
  private uniform: GPUBuffer;

  constructor(private device: GPUDevice, format: GPUTextureFormat) {
    const module = device.createShaderModule({ code: SHADER });
    this.pipeline = device.createRenderPipeline({
      layout: 'auto',
      vertex: { module, entryPoint: 'vs' },
      fragment: { module, entryPoint: 'fs', targets: [{ format }] },
      primitive: { topology: 'triangle-list' },
    });
    this.uniform = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  }

  /** Encodes and submits the pass; `at` names the stage reached (for error messages). */
  render(buffer: GPUBuffer, w: number, h: number, range: readonly [number, number], target: () => GPUTextureView, at: (s: string) => void = () => {}): void {
    at('uniform');
    const u = new ArrayBuffer(16);
    new Uint32Array(u, 0, 2).set([w, h]);
    new Float32Array(u, 8, 2).set(range);
    this.device.queue.writeBuffer(this.uniform, 0, u);
    at('bindgroup');
    const bind = this.device.createBindGroup({
      layout: this.pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer } },
        { binding: 1, resource: { buffer: this.uniform } },
      ],
    });
    at('texture');
    const view = target();
    at('encode');
    const enc = this.device.createCommandEncoder();
    const pass = enc.beginRenderPass({
      colorAttachments: [{ view, loadOp: 'clear', storeOp: 'store', clearValue: { r: 0, g: 0, b: 0, a: 1 } }],
    });
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, bind);
    pass.draw(3);
    pass.end();
    at('submit');
    this.device.queue.submit([enc.finish()]);
  }

  destroy(): void {
    this.uniform.destroy();
  }
}

/** NchwRenderPass onto a WebGPU canvas (the webcam's output canvas, owned by the worker). */
export class CamGpuRenderer {
  private ctx: GPUCanvasContext;
  private pass: NchwRenderPass;

  constructor(device: GPUDevice, canvas: OffscreenCanvas) {
    const ctx = canvas.getContext('webgpu');
    if (!ctx) throw new Error('no webgpu canvas context');
    this.ctx = ctx;
    const format = navigator.gpu.getPreferredCanvasFormat();
    ctx.configure({ device, format, alphaMode: 'opaque' });
    this.pass = new NchwRenderPass(device, format);
  }

  draw(buffer: GPUBuffer, w: number, h: number, range: readonly [number, number]): void {
    let stage = 'uniform';
    try {
      this.pass.render(buffer, w, h, range, () => this.ctx.getCurrentTexture().createView(), (s) => (stage = s));
    } catch (e) {
      throw new Error(`${stage}: ${(e as Error).message}`);
    }
  }

  destroy(): void {
    this.pass.destroy();
    this.ctx.unconfigure();
  }
}

const UPLOAD = /* wgsl */ `
struct P { w: u32, h: u32, lo: f32, hi: f32, mirror: u32 };
@group(0) @binding(0) var src: texture_2d<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(8, 8) fn main(@builtin(global_invocation_id) id: vec3u) {
  if (id.x >= p.w || id.y >= p.h) { return; }
  let sx = select(id.x, p.w - 1u - id.x, p.mirror != 0u);
  let c = textureLoad(src, vec2u(sx, id.y), 0);
  let v = c.rgb * (p.hi - p.lo) + vec3f(p.lo);
  let plane = p.w * p.h;
  let i = id.y * p.w + id.x;
  dst[i] = v.r;
  dst[plane + i] = v.g;
  dst[2u * plane + i] = v.b;
}`;

/**
 * Camera frame (ImageBitmap) -> NCHW float32 GPUBuffer in the model's input range, on the GPU:
 * copyExternalImageToTexture + one compute pass (mirroring included). The buffer is fed to
 * onnxruntime-web as a GPU tensor, so with WebGPU the frame never goes through the CPU.
 */
export class GpuFrameUploader {
  private pipeline: GPUComputePipeline;
  private uniform: GPUBuffer;
  private tex: GPUTexture | null = null;
  private buf: GPUBuffer | null = null;
  private w = 0;
  private h = 0;

  constructor(private device: GPUDevice) {
    this.pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: UPLOAD }), entryPoint: 'main' } });
    this.uniform = device.createBuffer({ size: 32, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  }

  upload(frame: ImageBitmap, range: readonly [number, number], mirror: boolean): GPUBuffer {
    const { width: w, height: h } = frame;
    if (w !== this.w || h !== this.h) {
      this.tex?.destroy();
      this.buf?.destroy();
      this.tex = this.device.createTexture({
        size: [w, h],
        format: 'rgba8unorm',
        usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST | GPUTextureUsage.RENDER_ATTACHMENT,
      });
      this.buf = this.device.createBuffer({ size: 3 * w * h * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
      this.w = w;
      this.h = h;
    }
    this.device.queue.copyExternalImageToTexture({ source: frame }, { texture: this.tex! }, [w, h]);
    const u = new ArrayBuffer(32);
    new Uint32Array(u, 0, 2).set([w, h]);
    new Float32Array(u, 8, 2).set(range);
    new Uint32Array(u, 16, 1).set([mirror ? 1 : 0]);
    this.device.queue.writeBuffer(this.uniform, 0, u);
    const bind = this.device.createBindGroup({
      layout: this.pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: this.tex!.createView() },
        { binding: 1, resource: { buffer: this.buf! } },
        { binding: 2, resource: { buffer: this.uniform } },
      ],
    });
    const enc = this.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(Math.ceil(w / 8), Math.ceil(h / 8));
    pass.end();
    this.device.queue.submit([enc.finish()]);
    return this.buf!;
  }

  destroy(): void {
    this.tex?.destroy();
    this.buf?.destroy();
    this.uniform.destroy();
  }
}
