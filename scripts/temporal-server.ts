import { spawn, type ChildProcess } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { searchAttributes } from '../contracts/search-attributes';
import { temporalCliPath } from './tools';

export interface DevServer {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
  /** SIGKILL on purpose (chaos runs): not reported as an unexpected exit. */
  kill(): void;
}

const typeNames: Record<string, string> = { KEYWORD: 'Keyword', INT: 'Int', TEXT: 'Text', BOOL: 'Bool', DATETIME: 'Datetime', DOUBLE: 'Double' };

/**
 * Starts `temporal server start-dev` with the project's search attributes registered.
 * dbFile persists state across restarts (omit it for an in-memory server, as tests do).
 */
export async function startTemporalDevServer(opts: {
  port: number;
  uiPort?: number;
  dbFile?: string;
  log?: (line: string) => void;
}): Promise<DevServer> {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(opts.port), '--log-level', 'warn'];
  if (opts.uiPort) args.push('--ui-port', String(opts.uiPort));
  else args.push('--headless');
  if (opts.dbFile) args.push('--db-filename', opts.dbFile);
  for (const key of Object.values(searchAttributes)) args.push('--search-attribute', `${key.name}=${typeNames[key.type]}`);

  const child = spawn(temporalCliPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const collect = (chunk: Buffer) => {
    const text = chunk.toString();
    output.push(text);
    if (output.length > 200) output.shift();
    opts.log?.(text.trimEnd());
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);

  const address = `127.0.0.1:${opts.port}`;
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const early = await Promise.race([exited, new Promise<'wait'>((r) => setTimeout(() => r('wait'), 250))]);
    if (early !== 'wait') throw new Error(`temporal dev server exited (${early}):\n${output.join('')}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      await connection.workflowService.getSystemInfo({});
      await connection.close();
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`temporal dev server not ready on ${address} after 60 s: ${(err as Error).message}`);
      }
    }
  }
  // A server that dies after it was ready (once seen as a worker's refused connection seconds
  // later) says so with its last output, for every caller, instead of leaving a bare ECONNREFUSED.
  // Exit 0 is a clean shutdown (Ctrl-C reaches the whole process group), not a death.
  let stopping = false;
  child.once('exit', (code, signal) => {
    if (!stopping && code !== 0) console.error(`temporal dev server on ${address} exited unexpectedly (${code ?? signal}); its last output:\n${output.join('')}`);
  });
  return {
    address,
    uiUrl: opts.uiPort ? `http://localhost:${opts.uiPort}` : undefined,
    process: child,
    kill() {
      stopping = true;
      child.kill('SIGKILL');
    },
    async stop() {
      if (child.exitCode !== null) return;
      stopping = true;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
