// The gemma4 engine in a browser page (gemma4.mjs).
import type { ChatCompletions, CommonCreateOptions } from '../types.js';

export { Gemma4Error } from '../types.js';
export type * from '../types.js';

export type BrowserModel =
  | { hub: string; revision?: string; endpoint?: string; token?: string; headers?: Record<string, string> }
  /** A model folder's base URL, or the URL of a model file (.g4w) that `gemma4 convert` wrote. */
  | { url: string; token?: string; headers?: Record<string, string> }
  /** A model folder's files, or one model file (.g4w). */
  | { files: File[] };

export interface BrowserCreateOptions extends CommonCreateOptions {
  model: BrowserModel;
  onProgress?: (progress: { loaded: number; total: number; file: string }) => void;
  onLog?: (text: string) => void;
  moduleUrl?: string;
  workerUrl?: string;
  /** Keep downloaded files in the Origin Private File System (default true). */
  cache?: boolean;
}

export interface EngineInfo {
  backend: 'wasm' | 'webgpu';
  device: 'cpu' | 'webgpu';
  deviceReason: string;
  model: string;
  threads: number;
  dtype: string;
  crossOriginIsolated: boolean;
  simd: boolean;
  files: Array<{ name: string; size: number; table: { start: number; end: number } | null }>;
  warnings: string[];
  /** The download cache: on or not (and why), and the bytes it held when the engine opened. */
  cache: { enabled: boolean; reason: string; cachedBytes: number } | null;
}

export interface BrowserEngine {
  readonly model: string;
  readonly info: EngineInfo;
  readonly closed: boolean;
  readonly chat: { completions: ChatCompletions };
  /** Bytes read for the model so far. */
  stats(): Promise<{ requests: number; bytes: number; tableRequests: number; tableBytes: number; wholeFileReads: number; cacheBytes: number; heapBytes: number | null }>;
  unload(): Promise<void>;
  close(): Promise<void>;
}

export declare const Gemma4: {
  create(options: BrowserCreateOptions): Promise<BrowserEngine>;
};
