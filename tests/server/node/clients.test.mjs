// Structured output through the clients people use, against `gemma4 serve` on tiny-a (random
// weights: only the grammar makes the answers valid, so a pass means the constraint held):
// the Vercel AI SDK's generateObject and LangChain's withStructuredOutput, both with zod schemas
// sent as response_format json_schema (strict).
// Run by CTest (GEMMA4_BINARY, GEMMA4_TEST_DATA) or by hand:
//   GEMMA4_BINARY=build/gemma4 GEMMA4_TEST_DATA=tests/data node --test tests/server/node/clients.test.mjs
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';

import { startServe } from '../../serve_process.mjs';

let ai, aiOpenAI, z, ChatOpenAI;
try {
  ai = await import('ai');
  aiOpenAI = await import('@ai-sdk/openai');
  ({ z } = await import('zod'));
  ({ ChatOpenAI } = await import('@langchain/openai'));
} catch (e) {
  throw new Error(`the client packages are not installed: run \`npm ci\` in tests/server/node ` +
                  `(scripts/setup.sh does it) (${e.message})`);
}

const BINARY = process.env.GEMMA4_BINARY;
const DATA = process.env.GEMMA4_TEST_DATA;
if (!BINARY || !DATA) throw new Error('set GEMMA4_BINARY (the gemma4 executable) and GEMMA4_TEST_DATA (tests/data)');
const MODEL = 'tiny-a';

// Small enough that a random model completes it within the token budget; enums, an integer with
// bounds and multipleOf, a bounded array: all forced by the grammar.
const Verdict = z.object({
  answer: z.enum(['yes', 'no']),
  confidence: z.number().int().min(0).max(100).multipleOf(10),
  tags: z.array(z.enum(['short', 'long'])).max(2),
});

describe('structured output through real clients', () => {
  let server;
  before(async () => {
    server = await startServe(BINARY, ['--model', path.join(DATA, 'tiny-a'), '--dtype', 'f32', '--threads', '2',
                                       '--ctx', '2048']);
  });
  after(async () => { await server.stop(); });

  test('Vercel AI SDK generateObject returns an object valid for the zod schema', async () => {
    const provider = aiOpenAI.createOpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused' });
    for (const seed of [1, 2, 3]) {
      const { object, finishReason } = await ai.generateObject({
        model: provider.chat(MODEL, { structuredOutputs: true }), schema: Verdict, schemaName: 'verdict',
        prompt: 'Is the sky blue?', seed, temperature: 1, maxTokens: 200, maxRetries: 0,
      });
      assert.equal(finishReason, 'stop');
      assert.deepEqual(Verdict.parse(object), object);
    }
  });

  test('LangChain withStructuredOutput (jsonSchema, strict) returns a valid object', async () => {
    const chat = new ChatOpenAI({ model: MODEL, apiKey: 'unused', configuration: { baseURL: `${server.url}/v1` },
                                  temperature: 1, maxTokens: 200, maxRetries: 0 });
    const structured = chat.withStructuredOutput(Verdict, { name: 'verdict', method: 'jsonSchema', strict: true });
    for (const seed of [4, 5]) {
      const object = await structured.invoke('Is the sky blue?', { seed });
      assert.deepEqual(Verdict.parse(object), object);
    }
  });
});
