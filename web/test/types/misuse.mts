// Mistakes the typings must catch (the test expects tsc to report every line marked ERROR).
import { Gemma4 } from '../../engine/browser/gemma4.mjs';

export async function misuse(): Promise<void> {
  await Gemma4.create({ model: { hub: 'a/b' }, device: 'tpu' });  // ERROR: unknown device
  await Gemma4.create({ model: { hub: 'a/b' }, dtype: 'q5_k' });  // ERROR: unknown dtype
  const engine = await Gemma4.create({ model: { url: '/m/' } });
  await engine.chat.completions.create({ messages: [{ role: 'robot', content: 'x' }] });  // ERROR: unknown role
  const r = await engine.chat.completions.create({ messages: [] });
  console.log(r.choices[0].message.text);  // ERROR: no such field
}
