// A matrix stored as row ranges, each in a buffer of its own no larger than the device's storage
// binding limit (E2B's per-layer embedding table is 4.7 GB; one binding may hold 128 MiB on some
// devices). Kernels that read a split tensor run once per part.
import { storageBuffer, WebGpuError } from './context.js';

// bytes: the whole row-major matrix (rows x rowBytes). Returns { rows, rowBytes, parts } with
// parts [{ buffer, row0, rows }].
export function uploadRows(ctx, bytes, rows, rowBytes) {
  const src = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (src.byteLength !== rows * rowBytes) throw new WebGpuError(`tensor has ${src.byteLength} bytes, expected ${rows} x ${rowBytes}`);
  const tensor = allocateRows(ctx, rows, rowBytes);
  writeRows(ctx, tensor, 0, src);
  return tensor;
}

// The same layout with its buffers allocated but not filled: writeRows fills them in pieces, so a
// large matrix is uploaded without ever being whole in memory. Parts hold a multiple of 4 rows,
// so pieces of a multiple of 4 rows land at 4-byte offsets (queue.writeBuffer's rule) whatever
// the row size (q4_0 rows are 18 bytes per block).
export function allocateRows(ctx, rows, rowBytes) {
  let perPart = Math.floor(ctx.maxBindingBytes / rowBytes);
  if (perPart >= 4) perPart -= perPart % 4;
  else if (rowBytes % 4 !== 0) throw new WebGpuError(`rows of ${rowBytes} bytes do not fit the binding limit ${ctx.maxBindingBytes} in groups of 4`);
  if (perPart < 1) throw new WebGpuError(`one row of ${rowBytes} bytes is over the binding limit ${ctx.maxBindingBytes}`);
  const parts = [];
  for (let row0 = 0; row0 < rows; row0 += perPart) {
    const n = Math.min(perPart, rows - row0);
    parts.push({ buffer: storageBuffer(ctx, n * rowBytes), row0, rows: n });
  }
  return { rows, rowBytes, parts };
}

// Writes rows [row0, row0 + bytes / rowBytes) of an allocateRows tensor, across parts as needed;
// row0 must be a multiple of 4 (the last piece of a tensor may end anywhere).
export function writeRows(ctx, tensor, row0, bytes) {
  const n = bytes.byteLength / tensor.rowBytes;
  if (!Number.isInteger(n) || row0 < 0 || row0 + n > tensor.rows) throw new WebGpuError(`rows ${row0}+${n} do not fit a tensor of ${tensor.rows} rows`);
  for (const part of tensor.parts) {
    const from = Math.max(row0, part.row0), to = Math.min(row0 + n, part.row0 + part.rows);
    if (from >= to) continue;
    const offset = (from - part.row0) * tensor.rowBytes;
    if (offset % 4 !== 0) throw new WebGpuError(`rows written from ${row0} land at byte ${offset} of a part, not a multiple of 4`);
    let src = bytes.subarray((from - row0) * tensor.rowBytes, (to - row0) * tensor.rowBytes);
    if (src.byteLength % 4 !== 0) {
      // The part's buffer is padded to whole words: write the padding too.
      const padded = new Uint8Array(src.byteLength + 4 - (src.byteLength % 4));
      padded.set(src);
      src = padded;
    }
    ctx.device.queue.writeBuffer(part.buffer, offset, src);
  }
}

export function destroyRows(tensor) {
  for (const p of tensor.parts) p.buffer.destroy();
}
