// The gemma4 engine under Node (index.js).
import type { ChatCompletions, CommonCreateOptions, Gemma4Error as Gemma4ErrorClass } from './types';

export * from './types';

export interface NodeCreateOptions extends CommonCreateOptions {
  /**
   * A Hugging Face model folder on disk (config.json, tokenizer.json, safetensors), or a model file
   * (.g4w) that `gemma4 convert` wrote; a model file loads in its own dtype unless `dtype` is given.
   */
  model: { dir: string } | { file: string };
}

export interface NodeEngine {
  readonly model: string;
  /** Which device runs the forward pass, and why it was chosen. */
  readonly info: { device: 'cpu' | 'webgpu'; reason: string; dtype: string };
  readonly chat: { completions: ChatCompletions };
  close(): Promise<void>;
}

export declare const Gemma4: {
  create(options: NodeCreateOptions): Promise<NodeEngine>;
  /** Ends the module's worker threads so that Node can exit; close every engine first. */
  shutdown(): void;
};
export declare const Gemma4Error: typeof Gemma4ErrorClass;
