// A matrix stored as row ranges, each in a buffer of its own no larger than the device's storage
// binding limit (E2B's per-layer embedding table is 4.7 GB; one binding may hold 128 MiB on some
// devices). Kernels that read a split tensor run once per part.
import { storageBuffer, WebGpuError } from './context.js';

// bytes: the whole row-major matrix (rows x rowBytes). Returns { rows, rowBytes, parts } with
// parts [{ buffer, row0, rows }].
export function uploadRows(ctx, bytes, rows, rowBytes) {
  const src = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (src.byteLength !== rows * rowBytes) throw new WebGpuError(`tensor has ${src.byteLength} bytes, expected ${rows} x ${rowBytes}`);
  const perPart = Math.floor(ctx.maxBindingBytes / rowBytes);
  if (perPart < 1) throw new WebGpuError(`one row of ${rowBytes} bytes is over the binding limit ${ctx.maxBindingBytes}`);
  const parts = [];
  for (let row0 = 0; row0 < rows; row0 += perPart) {
    const n = Math.min(perPart, rows - row0);
    parts.push({ buffer: storageBuffer(ctx, src.subarray(row0 * rowBytes, (row0 + n) * rowBytes)), row0, rows: n });
  }
  return { rows, rowBytes, parts };
}

export function destroyRows(tensor) {
  for (const p of tensor.parts) p.buffer.destroy();
}
