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
  // Validation and shader errors surface at the next readback as a rejected promise.
  device.onuncapturederror = (event) => errors.push(event.error.message);
  const adapterBinding = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const binding = maxBindingBytes ? Math.min(maxBindingBytes, adapterBinding) : adapterBinding;
  return {
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
  };
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
  await staging.mapAsync(GPUMapMode.READ);
  const out = staging.getMappedRange().slice(0, bytes);
  staging.unmap();
  staging.destroy();
  await new Promise((resolve) => setImmediate(resolve));
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
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  const [x, y] = grid(workgroups);
  pass.dispatchWorkgroups(x, y);
  pass.end();
  device.queue.submit([enc.finish()]);
  releaseAfterWork(ctx, uniform);
}
