// `gemma4 serve` as a child process for the node tests: a free port on 127.0.0.1, /health polled
// until 200. Shared by the node tests: tests/server/node (the openai client, the AI SDK, LangChain),
// tests/server/agents (the Agents SDK) and tests/webui (the chat page).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';

export async function freePort() {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

// Starts BINARY serve ARGS... --port P and waits for health. Returns { url, port, stop, log, healthSeen }.
export async function startServe(binary, args) {
  const port = await freePort();
  const proc = spawn(binary, ['serve', ...args, '--host', '127.0.0.1', '--port', String(port)],
                     { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d) => { log += d; });
  const exited = once(proc, 'exit');
  const url = `http://127.0.0.1:${port}`;
  const healthSeen = [];
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`gemma4 serve exited with ${proc.exitCode}:\n${log}`);
    if (Date.now() > deadline) throw new Error(`gemma4 serve did not become healthy:\n${log}`);
    try {
      const res = await fetch(`${url}/health`);
      healthSeen.push(res.status);
      if (res.status === 200) break;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 25));
  }
  const stop = async () => {
    if (proc.exitCode !== null) return proc.exitCode;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    const [code] = await exited;
    clearTimeout(timer);
    return code;
  };
  return { url, port, stop, log: () => log, healthSeen };
}
