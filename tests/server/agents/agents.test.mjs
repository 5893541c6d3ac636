// The OpenAI Agents SDK against `gemma4 serve` on tiny-a (random weights): an agent with a zod
// `outputType` gets a final output the schema accepts, which only the response_format grammar
// can make happen. The SDK talks Chat Completions here (setOpenAIAPI), the API this server has.
// Run by CTest (GEMMA4_BINARY, GEMMA4_TEST_DATA) or by hand:
//   GEMMA4_BINARY=build/gemma4 GEMMA4_TEST_DATA=tests/data node --test tests/server/agents/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';

import { startServe } from '../../serve_process.mjs';

let agents, OpenAI, z;
try {
  agents = await import('@openai/agents');
  ({ default: OpenAI } = await import('openai'));
  ({ z } = await import('zod'));
} catch (e) {
  throw new Error(`the Agents SDK is not installed: run \`npm ci\` in tests/server/agents ` +
                  `(scripts/setup.sh does it) (${e.message})`);
}

const BINARY = process.env.GEMMA4_BINARY;
const DATA = process.env.GEMMA4_TEST_DATA;
if (!BINARY || !DATA) throw new Error('set GEMMA4_BINARY (the gemma4 executable) and GEMMA4_TEST_DATA (tests/data)');

let server;
before(async () => {
  server = await startServe(BINARY, ['--model', path.join(DATA, 'tiny-a'), '--dtype', 'f32', '--threads', '2', '--ctx', '2048']);
  agents.setTracingDisabled(true);  // no export to OpenAI's servers
  agents.setOpenAIAPI('chat_completions');
  agents.setDefaultOpenAIClient(new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 }));
});
after(async () => { await server.stop(); });

test('an agent with a zod outputType gets a valid final output', async () => {
  const Verdict = z.object({
    answer: z.enum(['yes', 'no']),
    confidence: z.number().int().min(0).max(100).multipleOf(10),
  });
  for (const temperature of [0, 1]) {
    const agent = new agents.Agent({ name: 'judge', instructions: 'Answer the question.', model: 'tiny-a',
                                     outputType: Verdict, modelSettings: { temperature, maxTokens: 200 } });
    const result = await agents.run(agent, 'Is the sky blue?');
    assert.deepEqual(Verdict.parse(result.finalOutput), result.finalOutput);
  }
});
