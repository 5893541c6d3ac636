// What the browser tests share: the checkout, the chromium they drive, tiny-a's URL on the demo
// server, and the native CLI's answers they must reproduce (web/engine/test/native_answers.json).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHROMIUM = process.env.GEMMA4_CHROMIUM || '/usr/bin/chromium';
export const native = JSON.parse(fs.readFileSync(path.join(repo, 'web/engine/test/native_answers.json'), 'utf8'));
export const MODEL_URL = '/tests/data/tiny-a/';
export const messages = [{ role: 'user', content: native.prompt }];
export const caseNamed = (name) => native.cases.find((c) => c.name === name);

// Streams a chat completion from the page's window.engine; resolves to the chunks.
export const streamInPage = (page, request) => page.evaluate(async (r) => {
  const chunks = [];
  for await (const chunk of await window.engine.chat.completions.create({ ...r, stream: true })) chunks.push(chunk);
  return chunks;
}, request);

// The load's progress events ended with everything loaded.
export function assertLoadedFully(progress) {
  const last = progress.at(-1);
  if (!(last && last.loaded === last.total && last.total > 0)) throw new Error(`the load did not finish: ${JSON.stringify(progress)}`);
}
