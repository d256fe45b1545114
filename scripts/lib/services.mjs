// Runs the services of the local stack as child processes of the calling script.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { dirs, REPO, sleep } from '../../deploy/local/stack.mjs';

/** Start order: the edge last; stop order: the reverse (intake first). */
export const SERVICES = [
  { name: 'config-service', port: 8082 },
  { name: 'ingest-gateway', port: 8081 },
  { name: 'mapper', port: 8083 },
  { name: 'entity-writer', port: 8084 },
  { name: 'edge', port: 8080 },
];

const log = (msg) => process.stderr.write(`[services] ${msg}\n`);

export async function isReady(port) {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) });
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * Starts every service with the local stack's configuration. Each service's JSON log goes to
 * .local/logs/<service>.log; lines at warn level and above are echoed (`echo` decides where).
 */
export function startServices(env, { echo } = {}) {
  mkdirSync(dirs.logs, { recursive: true });
  const children = new Map();
  for (const service of SERVICES) {
    const file = createWriteStream(path.join(dirs.logs, `${service.name}.log`), { flags: 'a' });
    const child = spawn(process.execPath, [path.join(REPO, 'services', service.name, 'dist/main.js')], {
      cwd: REPO,
      env: { ...process.env, ...env, PORT: String(service.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [child.stdout, child.stderr]) {
      stream.pipe(file, { end: false });
      if (echo) {
        let buffered = '';
        stream.on('data', (chunk) => {
          buffered += chunk;
          const lines = buffered.split('\n');
          buffered = lines.pop() ?? '';
          for (const line of lines) echo(service.name, line);
        });
      }
    }
    child.on('exit', (code, signal) => {
      children.delete(service.name);
      if (!stopping)
        log(`${service.name} exited (${signal ?? code}); see ${path.join(dirs.logs, `${service.name}.log`)}`);
    });
    children.set(service.name, child);
  }
  let stopping = false;
  return {
    children,
    async waitReady(timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      for (const service of SERVICES) {
        while (!(await isReady(service.port))) {
          if (!children.has(service.name))
            throw new Error(`${service.name} exited during start-up; see ${dirs.logs}`);
          if (Date.now() > deadline)
            throw new Error(`${service.name} not ready within ${timeoutMs} ms; see ${dirs.logs}`);
          await sleep(200);
        }
      }
    },
    /** SIGTERM in reverse start order, each given up to graceMs, then SIGKILL. */
    async stop(graceMs = 20_000) {
      stopping = true;
      for (const service of [...SERVICES].reverse()) {
        const child = children.get(service.name);
        if (!child || child.exitCode !== null) continue;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
