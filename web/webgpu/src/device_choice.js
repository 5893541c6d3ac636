// Which device runs the forward pass, for `Gemma4.create({ device })` in the browser module and
// the Node package (web/engine/): 'webgpu' insists (an error says why it cannot), 'cpu' never
// tries, and 'auto' takes WebGPU when an adapter with the limits the kernels need exists and is
// not a software rasterizer, else the CPU engine, with the reason. For WebGPU the weights are
// loaded onto the GPU here, and the wasm module drives them through an EngineHost.
import { createContext, destroyContext } from './context.js';
import { Gemma4WebGpu } from './forward.js';
import { EngineHost } from './engine_host.js';

// Weight formats the WebGPU kernels take.
export const GPU_FORMATS = ['f32', 'q8_0', 'q4_0'];
// What the kernels need beyond WebGPU's defaults: bindings for the LM head's parts.
const MIN_BINDING_BYTES = 128 << 20;

// code: 'bad_request' (an unknown device, a format WebGPU does not take), 'webgpu_unavailable'
// (device 'webgpu' without a usable adapter), 'model_error' (the weights did not load).
export class DeviceChoiceError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'DeviceChoiceError';
    this.code = code;
  }
}

// Returns { device: 'webgpu' | 'cpu', reason, context } (context: a WebGPU context to load the
// engine on, when device is 'webgpu').
export async function chooseDevice(requested = 'auto', contextOptions = {}) {
  if (!['auto', 'webgpu', 'cpu'].includes(requested))
    throw new DeviceChoiceError('bad_request', `unknown device '${requested}' (choose auto, webgpu or cpu)`);
  if (requested === 'cpu') return { device: 'cpu', reason: 'asked for the CPU' };
  let context;
  try {
    if (!globalThis.navigator?.gpu && typeof process === 'undefined') throw new Error('this browser has no WebGPU (navigator.gpu)');
    context = await createContext(contextOptions);
  } catch (e) {
    const why = `no usable WebGPU adapter: ${e?.message ?? e}`;
    if (requested === 'webgpu') throw new DeviceChoiceError('webgpu_unavailable', why);
    return { device: 'cpu', reason: why };
  }
  const binding = context.limits.maxStorageBufferBindingSize;
  if (binding < MIN_BINDING_BYTES) {
    destroyContext(context);
    const why = `the WebGPU adapter's storage bindings hold only ${binding} bytes (the kernels need ${MIN_BINDING_BYTES})`;
    if (requested === 'webgpu') throw new DeviceChoiceError('webgpu_unavailable', why);
    return { device: 'cpu', reason: why };
  }
  if (requested === 'auto' && context.adapter.fallback) {
    destroyContext(context);
    return { device: 'cpu', reason: `the WebGPU adapter is a software renderer (${describe(context)}), slower than the CPU engine` };
  }
  return { device: 'webgpu', reason: `WebGPU adapter ${describe(context)}`, context };
}

// Chooses the device for `requested` and `dtype`; for WebGPU, loads the model (files: a
// checkpoint folder, or dir in Node) onto it. Returns { device, reason, host } (host: the
// EngineHost the wasm module's steps go to, when device is 'webgpu').
export async function openOnDevice({ device: requested = 'auto', dtype, files, dir }) {
  if (requested !== 'cpu' && !GPU_FORMATS.includes(dtype)) {
    if (requested === 'webgpu')
      throw new DeviceChoiceError('bad_request', `dtype '${dtype}' does not run on WebGPU (choose ${GPU_FORMATS.join(', ')})`);
    if (requested === 'auto') return { device: 'cpu', reason: `dtype ${dtype} runs on the CPU only` };
  }
  const choice = await chooseDevice(requested);
  if (choice.device === 'cpu') return choice;
  try {
    const engine = await Gemma4WebGpu.load({ files, dir, format: dtype, context: choice.context, ownContext: true });
    return { device: 'webgpu', reason: choice.reason, host: new EngineHost(engine) };
  } catch (e) {
    throw new DeviceChoiceError(e?.code ?? 'model_error',
                                `loading the model onto the GPU failed: ${e?.message ?? e}`);
  }
}

function describe(ctx) {
  const a = ctx.adapter;
  return [a.vendor, a.architecture, a.description].filter(Boolean).join(' ') || 'unnamed';
}
