// The WebGPU device, its limits and features, and the plumbing every kernel shares: storage
// buffers, uniform parameters, cached pipelines, dispatches over more workgroups than one grid
// dimension allows, and readback.

export const WORKGROUP_SIZE = 64;  // every kernel: <= 128 invocations, reductions over 64 lanes
const MAX_GRID_DIM = 65535;        // WebGPU's guaranteed maxComputeWorkgroupsPerDimension

export class WebGpuError extends Error {
  constructor(message) {
    super(message);
    this.name = 'WebGpuError';
  }
}

// The device went away (driver reset, GPU process crash, destroy()): work in flight and every
// later step reject with this; a new context (and engine) can be created.
export class WebGpuDeviceLostError extends WebGpuError {
  constructor(message) {
    super(message);
    this.name = 'WebGpuDeviceLostError';
  }
}

function lostError(ctx) {
  return new WebGpuDeviceLostError(`the WebGPU device was lost (${ctx.lost.reason ?? 'unknown'}${ctx.lost.message ? `: ${ctx.lost.message}` : ''})`);
}

// Rejects with WebGpuDeviceLostError as soon as the device is lost, whatever `promise` does.
function unlessLost(ctx, promise) {
  if (ctx.lost) return Promise.reject(lostError(ctx));
  return new Promise((resolve, reject) => {
    promise.then(resolve, reject);
    ctx.lostPromise.then(() => reject(lostError(ctx)));
  });
}

// Finds a WebGPU implementation: the browser's navigator.gpu, else the `webgpu` npm package
// (Dawn) in Node.
async function findGpu() {
  if (globalThis.navigator?.gpu) return globalThis.navigator.gpu;
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  return create([]);
}

// Options: useSubgroups (default true: used when the adapter has them), maxBindingBytes (caps
// the largest storage binding below the adapter's limit, so tests can force tensor splits).
export async function createContext({ useSubgroups = true, maxBindingBytes } = {}) {
  const gpu = await findGpu();
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new WebGpuError('no WebGPU adapter');
  const subgroups = useSubgroups && adapter.features.has('subgroups');
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: subgroups ? ['subgroups'] : [],
    requiredLimits: {
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxStorageBuffersPerShaderStage: Math.min(limits.maxStorageBuffersPerShaderStage, 8),
    },
  });
  const errors = [];
  let markLost;
  const lostPromise = new Promise((resolve) => { markLost = resolve; });
  // Validation and shader errors surface at the next readback as a rejected promise.
  device.onuncapturederror = (event) => errors.push(event.error.message);
  const adapterBinding = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const binding = maxBindingBytes ? Math.min(maxBindingBytes, adapterBinding) : adapterBinding;
  const info = adapter.info ?? {};
  const ctx = {
    adapter: {
      vendor: info.vendor ?? '', architecture: info.architecture ?? '', description: info.description ?? '',
      // A software rasterizer (SwiftShader, WARP): WebGPU works but is slower than the CPU engine.
      fallback: Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter) ||
                /swiftshader|warp|llvmpipe|lavapipe/i.test(`${info.vendor} ${info.architecture} ${info.description}`),
    },
    gpu,  // dawn.node lives as long as this object is referenced: work in flight needs it
    device,
    subgroups,
    maxBindingBytes: binding,
    limits: {
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
      shaderF16: adapter.features.has('shader-f16'),
    },
    pipelines: new Map(),
    retired: [],
    errors,
    lost: null,
    lostPromise,
  };
  device.lost.then((info) => { ctx.lost = { reason: info.reason, message: info.message }; markLost(); });
  return ctx;
}

// Buffers that submitted work still reads: destroyed once a readback has waited for the queue
// (Dawn's Node binding crashes when a buffer is destroyed while queued work uses it).
export function releaseAfterWork(ctx, buffer) {
  ctx.retired.push(buffer);
}

function destroyRetired(ctx) {
  for (const b of ctx.retired) b.destroy();
  ctx.retired.length = 0;
}

export function destroyContext(ctx) {
  destroyRetired(ctx);
  for (const b of ctx.scratch?.values() ?? []) b.destroy();
  ctx.scratch?.clear();
  ctx.device.destroy();
  ctx.gpu = null;
}

const STORAGE = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

// A storage buffer holding `data` (a typed array or ArrayBuffer), or `data` zero bytes when it is
// a number. Sizes are padded to a multiple of 4 bytes (WGSL reads words).
export function storageBuffer(ctx, data) {
  const bytes = typeof data === 'number' ? data : data.byteLength;
  const size = Math.max(4, Math.ceil(bytes / 4) * 4);
  if (size > ctx.maxBindingBytes) throw new WebGpuError(`buffer of ${size} bytes is over the binding limit ${ctx.maxBindingBytes}`);
  const buffer = ctx.device.createBuffer({ size, usage: STORAGE(), mappedAtCreation: typeof data !== 'number' });
  if (typeof data !== 'number') {
    const src = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    new Uint8Array(buffer.getMappedRange()).set(src);
    buffer.unmap();
  }
  return buffer;
}

export function writeBuffer(ctx, buffer, data, byteOffset = 0) {
  ctx.device.queue.writeBuffer(buffer, byteOffset, data);
}

export function copyBuffer(ctx, src, srcOffset, dst, dstOffset, bytes) {
  const enc = ctx.device.createCommandEncoder();
  enc.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  ctx.device.queue.submit([enc.finish()]);
}

async function readBytes(ctx, buffer, bytes) {
  const staging = ctx.device.createBuffer({ size: Math.ceil(bytes / 4) * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = ctx.device.createCommandEncoder();
  enc.copyBufferToBuffer(buffer, 0, staging, 0, staging.size);
  ctx.device.queue.submit([enc.finish()]);
  await unlessLost(ctx, staging.mapAsync(GPUMapMode.READ));
  const out = staging.getMappedRange().slice(0, bytes);
  staging.unmap();
  staging.destroy();
  await new Promise((resolve) => (globalThis.setImmediate ?? setTimeout)(resolve));
  destroyRetired(ctx);
  if (ctx.errors.length) throw new WebGpuError(ctx.errors.splice(0).join('; '));
  return out;
}

export async function readF32(ctx, buffer, count) {
  return new Float32Array(await readBytes(ctx, buffer, count * 4));
}

export async function readU32(ctx, buffer, count) {
  return new Uint32Array(await readBytes(ctx, buffer, count * 4));
}

// Uniform parameters: a list of [type, value] with type 'u32' or 'f32', packed in order (the
// kernels declare matching structs of 4-byte scalars).
export function packParams(fields) {
  const words = new ArrayBuffer(Math.max(16, Math.ceil(fields.length / 4) * 16));
  const view = new DataView(words);
  fields.forEach(([type, value], i) => {
    if (type === 'f32') view.setFloat32(4 * i, value, true);
    else view.setUint32(4 * i, value >>> 0, true);
  });
  return words;
}

function pipelineFor(ctx, code) {
  let pipeline = ctx.pipelines.get(code);
  if (!pipeline) {
    const module = ctx.device.createShaderModule({ code });
    pipeline = ctx.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    ctx.pipelines.set(code, pipeline);
  }
  return pipeline;
}

// The grid for `count` workgroups: x up to 65535, y as many rows as needed. Kernels recover the
// linear index as wid.x + wid.y * nwg.x and skip indices >= count.
export function grid(count) {
  const x = Math.max(1, Math.min(count, MAX_GRID_DIM));
  const y = Math.ceil(count / x);
  if (y > MAX_GRID_DIM) throw new WebGpuError(`dispatch of ${count} workgroups is too large`);
  return [x, y];
}

// Runs `code` (entry point `main`) with binding 0 = the uniform params and bindings 1.. = the
// given storage buffers, over `workgroups` workgroups.
export function runKernel(ctx, { code, params, buffers, workgroups }) {
  if (workgroups <= 0) return;
  const device = ctx.device;
  const pipeline = pipelineFor(ctx, code);
  const uniform = device.createBuffer({ size: params.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(uniform, 0, params);
  const entries = [{ binding: 0, resource: { buffer: uniform } }];
  buffers.forEach((buffer, i) => entries.push({ binding: i + 1, resource: { buffer } }));
  const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
  const [x, y] = grid(workgroups);
  releaseAfterWork(ctx, uniform);
  if (ctx.step) {
    ctx.step.pass.setPipeline(pipeline);
    ctx.step.pass.setBindGroup(0, bindGroup);
    ctx.step.pass.dispatchWorkgroups(x, y);
    ctx.step.dispatches += 1;
    return;
  }
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(x, y);
  pass.end();
  device.queue.submit([enc.finish()]);
}

// A step: every kernel run between beginStep and endStep is recorded into one compute pass of one
// command encoder (dispatches in a pass see each other's writes in order), and endStep submits it
// as one command buffer with the copies of the buffers to read back appended, then maps them.
export function beginStep(ctx) {
  if (ctx.lost) throw lostError(ctx);
  if (ctx.step) throw new WebGpuError('a step is already being recorded');
  const encoder = ctx.device.createCommandEncoder();
  ctx.step = { encoder, pass: encoder.beginComputePass(), dispatches: 0 };
}

// reads: [{ buffer, bytes }]. Resolves to one ArrayBuffer per read, and the number of dispatches.
export async function endStep(ctx, reads = []) {
  const step = ctx.step;
  if (!step) throw new WebGpuError('no step is being recorded');
  ctx.step = null;
  step.pass.end();
  const staging = reads.map(({ buffer, bytes }) => {
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const s = ctx.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    step.encoder.copyBufferToBuffer(buffer, 0, s, 0, size);
    return s;
  });
  ctx.device.queue.submit([step.encoder.finish()]);
  const out = [];
  try {
    for (let i = 0; i < reads.length; ++i) {
      await unlessLost(ctx, staging[i].mapAsync(GPUMapMode.READ));
      out.push(staging[i].getMappedRange().slice(0, reads[i].bytes));
      staging[i].unmap();
    }
    if (!reads.length) await unlessLost(ctx, ctx.device.queue.onSubmittedWorkDone());
  } catch (e) {
    if (e instanceof WebGpuDeviceLostError) throw e;
    if (ctx.lost) throw lostError(ctx);
    throw new WebGpuError(ctx.errors.length ? ctx.errors.splice(0).join('; ') : `readback failed: ${e.message ?? e}`);
  } finally {
    staging.forEach((s) => s.destroy());
  }
  await new Promise((resolve) => (globalThis.setImmediate ?? setTimeout)(resolve));
  destroyRetired(ctx);
  if (ctx.errors.length) throw new WebGpuError(ctx.errors.splice(0).join('; '));
  return { reads: out, dispatches: step.dispatches };
}

// A scratch storage buffer of at least `bytes` under `name`, reused across steps (regrown, the old
// one retired, when a step needs more).
export function scratchBuffer(ctx, name, bytes) {
  ctx.scratch ??= new Map();
  const have = ctx.scratch.get(name);
  const size = Math.max(4, Math.ceil(bytes / 4) * 4);
  if (have && have.size >= size) return have;
  if (have) releaseAfterWork(ctx, have);
  const grown = storageBuffer(ctx, Math.max(size, have ? Math.min(ctx.maxBindingBytes, 2 * have.size) : size));
  ctx.scratch.set(name, grown);
  return grown;
}
