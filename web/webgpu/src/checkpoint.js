// A Hugging Face model folder: config.json and the safetensors (one file, or shards named by
// model.safetensors.index.json). Tensors are read by byte range, so a table that stays on the CPU
// side (the per-layer embeddings) is read one row at a time and never whole.
//
// A folder is a `files` object with `async read(name, offset, length) -> Uint8Array` and
// `async size(name) -> number`; nodeFolder(dir) gives one over the file system in Node, and a
// browser can wrap File or Blob objects the same way.
export class CheckpointError extends Error {
  constructor(message) {
    super(message);
    this.name = 'CheckpointError';
  }
}

const DTYPE_BYTES = { F32: 4, F16: 2, BF16: 2 };

export async function nodeFolder(dir) {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const handles = new Map();
  const open = async (name) => {
    if (!handles.has(name)) {
      try {
        handles.set(name, await fs.open(path.join(dir, name), 'r'));
      } catch (e) {
        throw new CheckpointError(`${path.join(dir, name)}: ${e.code === 'ENOENT' ? 'not found' : e.message}`);
      }
    }
    return handles.get(name);
  };
  return {
    where: dir,
    async exists(name) {
      try { await fs.access(path.join(dir, name)); return true; } catch { return false; }
    },
    async size(name) { return (await (await open(name)).stat()).size; },
    async read(name, offset, length) {
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await (await open(name)).read(out, done, length - done, offset + done);
        if (bytesRead === 0) throw new CheckpointError(`${name}: file ends at byte ${offset + done}, expected ${length - done} more`);
        done += bytesRead;
      }
      return out;
    },
    async close() {
      for (const h of handles.values()) await h.close();
      handles.clear();
    },
  };
}

async function readJson(files, name) {
  const bytes = await files.read(name, 0, await files.size(name));
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new CheckpointError(`${name}: invalid JSON: ${e.message}`);
  }
}

async function readHeader(files, name, tensors) {
  const size = await files.size(name);
  if (size < 8) throw new CheckpointError(`${name}: too short for a safetensors file`);
  const lenBytes = await files.read(name, 0, 8);
  const len = Number(new DataView(lenBytes.buffer).getBigUint64(0, true));
  if (len > 100e6 || 8 + len > size) throw new CheckpointError(`${name}: header length ${len} is out of range`);
  let header;
  try {
    header = JSON.parse(new TextDecoder().decode(await files.read(name, 8, len)));
  } catch (e) {
    throw new CheckpointError(`${name}: invalid safetensors header: ${e.message}`);
  }
  const base = 8 + len;
  for (const [tname, info] of Object.entries(header)) {
    if (tname === '__metadata__') continue;
    const { dtype, shape, data_offsets: range } = info;
    if (!Array.isArray(shape) || !Array.isArray(range) || range.length !== 2) throw new CheckpointError(`${name}: tensor '${tname}' has a malformed entry`);
    const count = shape.reduce((a, b) => a * b, 1);
    const bytes = range[1] - range[0];
    if (DTYPE_BYTES[dtype] !== undefined && bytes !== count * DTYPE_BYTES[dtype]) throw new CheckpointError(`${name}: tensor '${tname}' has ${bytes} bytes for shape [${shape}] of ${dtype}`);
    if (base + range[1] > size) throw new CheckpointError(`${name}: tensor '${tname}' lies past the end of the file`);
    tensors.set(tname, { name: tname, file: name, dtype, shape, offset: base + range[0], bytes });
  }
}

// Returns { config (the parsed config.json), tensors: Map name -> { file, dtype, shape, offset,
// bytes }, files }.
export async function openCheckpoint(files) {
  const config = await readJson(files, 'config.json');
  const tensors = new Map();
  if (await files.exists('model.safetensors.index.json')) {
    const index = await readJson(files, 'model.safetensors.index.json');
    if (typeof index.weight_map !== 'object') throw new CheckpointError('model.safetensors.index.json: no weight_map');
    for (const shard of new Set(Object.values(index.weight_map))) await readHeader(files, shard, tensors);
  } else if (await files.exists('model.safetensors')) {
    await readHeader(files, 'model.safetensors', tensors);
  } else {
    throw new CheckpointError(`${files.where ?? 'the model folder'}: no model.safetensors or model.safetensors.index.json`);
  }
  return { config, tensors, files };
}

function decodeInto(dtype, bytes, out, scale) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const f = Math.fround;
  const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
  for (let i = 0; i < out.length; ++i) {
    let v;
    if (dtype === 'F32') v = dv.getFloat32(4 * i, true);
    else if (dtype === 'BF16') { u32[0] = dv.getUint16(2 * i, true) << 16; v = f32[0]; }
    else v = f16BitsToNumber(dv.getUint16(2 * i, true));
    out[i] = scale === 1 ? v : f(v * scale);
  }
  return out;
}

function f16BitsToNumber(h) {
  const sign = h & 0x8000 ? -1 : 1, e = (h >> 10) & 31, m = h & 1023;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

export function checkTensor(t, name, shape) {
  if (!t) throw new CheckpointError(`tensor '${name}' is missing from the checkpoint`);
  if (DTYPE_BYTES[t.dtype] === undefined) throw new CheckpointError(`tensor '${name}' in ${t.file} has dtype ${t.dtype}; expected F32, F16 or BF16`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) throw new CheckpointError(`tensor '${name}' in ${t.file} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
  return t;
}

// The whole tensor as float32 (exact conversion from its stored type).
export async function readTensorF32(ckpt, t) {
  const bytes = await ckpt.files.read(t.file, t.offset, t.bytes);
  return decodeInto(t.dtype, bytes, new Float32Array(t.bytes / DTYPE_BYTES[t.dtype]), 1);
}

// Rows [row0, row0 + rows) of a 2-D tensor as float32 (exact conversion).
export async function readRowsF32(ckpt, t, row0, rows) {
  const cols = t.shape[1], size = DTYPE_BYTES[t.dtype];
  const bytes = await ckpt.files.read(t.file, t.offset + row0 * cols * size, rows * cols * size);
  return decodeInto(t.dtype, bytes, new Float32Array(rows * cols), 1);
}

// Row `row` of a 2-D tensor as float32 times `scale` (a float32 product), into `out`.
export async function readRowF32(ckpt, t, row, scale, out) {
  const cols = t.shape[1], size = DTYPE_BYTES[t.dtype];
  if (!(row >= 0 && row < t.shape[0])) throw new CheckpointError(`row ${row} is out of range for '${t.name}' (${t.shape[0]} rows)`);
  const bytes = await ckpt.files.read(t.file, t.offset + row * cols * size, cols * size);
  return decodeInto(t.dtype, bytes, out, Math.fround(scale));
}
