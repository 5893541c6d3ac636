// Types of the gemma4 engine's JS API, shared by the Node package (index.d.ts) and the browser
// module (browser/gemma4.d.mts). Requests and answers have the OpenAI chat completion shapes.

export type Dtype = 'f32' | 'bf16' | 'q8_0' | 'q4_0';
export type Device = 'auto' | 'webgpu' | 'cpu';

export type Gemma4ErrorCode =
  | 'bad_request' | 'context_overflow' | 'out_of_memory' | 'overloaded' | 'cancelled' | 'model_error'
  | 'shutting_down' | 'engine_closed' | 'internal_error' | 'not_found' | 'unauthorized' | 'network_error'
  | 'range_not_supported' | 'not_cross_origin_isolated' | 'module_not_found' | 'module_error' | 'worker_error'
  | 'webgpu_unavailable' | 'device_lost';

export declare class Gemma4Error extends Error {
  constructor(code: Gemma4ErrorCode | string, message: string);
  readonly name: 'Gemma4Error';
  readonly code: Gemma4ErrorCode | string;
}

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export type ChatMessage =
  | { role: 'system' | 'developer'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content?: string | null; reasoning_content?: string; tool_calls?: ToolCall[] }
  | { role: 'tool'; content: string; tool_call_id?: string; name?: string };

export interface Tool {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown> };
}

export interface ChatCompletionRequest {
  messages: ChatMessage[];
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  min_p?: number;
  seed?: number;
  stop?: string | string[];
  tools?: Tool[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  signal?: AbortSignal;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: 0;
    message: { role: 'assistant'; content: string; reasoning_content?: string; tool_calls?: ToolCall[] };
    finish_reason: FinishReason;
    token_ids: number[];
  }>;
  usage: Usage;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: Array<{
    index: 0;
    delta: { role?: 'assistant'; content?: string; reasoning_content?: string; tool_calls?: ToolCall[] };
    finish_reason: FinishReason | null;
    token_ids?: number[];
  }>;
  usage?: Usage;
}

export interface ChatCompletions {
  create(request: ChatCompletionRequest & { stream: true }): Promise<AsyncIterable<ChatCompletionChunk>>;
  create(request: ChatCompletionRequest & { stream?: false }): Promise<ChatCompletion>;
  create(request: ChatCompletionRequest): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>>;
}

export interface CommonCreateOptions {
  dtype?: Dtype;
  threads?: number;
  max_context?: number;
  /** Requests batched into one step (default 1). */
  parallel?: number;
  device?: Device;
}
