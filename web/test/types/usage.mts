// Code a user of the JS API writes; it must type-check against the published typings.
import { Gemma4, Gemma4Error, type ChatCompletionChunk } from '../../engine/browser/gemma4.mjs';
import type { NodeEngine, NodeCreateOptions } from '../../engine/index.js';

export const converted: NodeCreateOptions = { model: { file: 'gemma-4-E2B-it-q4_0.g4w' } };

export async function browser(file: File): Promise<string> {
  const engine = await Gemma4.create({ model: { hub: 'google/gemma-4-E2B-it', token: 'hf_x' }, dtype: 'q4_0', device: 'auto',
                                       onProgress: ({ loaded, total }) => console.log(loaded / total) });
  if (engine.info.backend === 'webgpu') console.log(engine.info.deviceReason);
  const answer = await engine.chat.completions.create({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 8 });
  let text = answer.choices[0].message.content;
  const stream = await engine.chat.completions.create({ messages: [{ role: 'user', content: 'Hi' }], stream: true });
  for await (const chunk of stream) text += chunk.choices[0].delta.content ?? '';
  const chunks: ChatCompletionChunk[] = [];
  await Gemma4.create({ model: { files: [file] } }).catch((e: unknown) => {
    if (e instanceof Gemma4Error && e.code === 'device_lost') chunks.length = 0;
  });
  await (await Gemma4.create({ model: { url: '/models/gemma-4-E2B-it-q4_0.g4w' } })).unload();
  await engine.unload();
  return text;
}

export async function node(engine: NodeEngine): Promise<number> {
  const r = await engine.chat.completions.create({ messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'u' }] });
  return r.usage.total_tokens + (engine.info.device === 'webgpu' ? 1 : 0);
}
