import pg from 'pg';
import { currentWorkspace } from '../common/workspace-context';

export type Pool = pg.Pool;

// bigint columns (ids, counts) come back as JS numbers: ours stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

/**
 * Session settings every connection carries. client_connection_check_interval makes a backend
 * whose client died (a SIGKILLed worker) notice within seconds, even mid-query or while waiting
 * on a lock, instead of holding its locks for as long as the query runs; a transaction left idle
 * for five minutes (a client hung, not dead) is ended too.
 */
const SESSION_OPTIONS = '-c client_connection_check_interval=2000 -c idle_in_transaction_session_timeout=300000';

/**
 * The statement that opens a transaction for the current workspace: app.workspace_id, which the
 * row-level security policies read, set local to the transaction (set_config's `true`), so a
 * pooled connection never carries one transaction's workspace into the next. Outside any
 * workspace nothing is set, and the policies show no rows. The id is a checked integer
 * (common/workspace-context.ts), so it is written into the statement: one round trip, not two.
 */
export function beginStatement(mode = ''): string {
  const workspaceId = currentWorkspace();
  const begin = `begin${mode ? ` ${mode}` : ''}`;
  return workspaceId === undefined ? begin : `${begin}; select set_config('app.workspace_id', '${workspaceId}', true)`;
}

/**
 * A pool whose single queries run in the current workspace: inside one, pool.query becomes a
 * transaction of its own that sets it (begin + set_config, the query, commit). Outside a workspace
 * it is pg's pool.query. Clients from connect() are pg's: their transactions go through
 * withTransaction (or open with beginStatement) to get the workspace.
 */
class WorkspacePool extends pg.Pool {
  // pg's overloads (config objects, callbacks) pass through when no workspace is set
  override query(...args: unknown[]): never {
    const [text, values, callback] = args;
    if (currentWorkspace() === undefined || typeof callback === 'function' || typeof values === 'function') {
      return (super.query as (...a: unknown[]) => never)(...args);
    }
    return withTransaction(this, (client) => client.query(text as string, values as unknown[])) as never;
  }
}

export function createPool(connectionString: string, options: pg.PoolConfig = {}): pg.Pool {
  const pool = new WorkspacePool({
    connectionString,
    max: 10,
    // Postgres down: fail the request or activity (retried) instead of waiting forever for a client.
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
    options: SESSION_OPTIONS,
    ...options,
  });
  // An idle client losing its server must not crash the process; the next query reconnects.
  pool.on('error', (err) => console.error('postgres pool error:', err.message));
  // Nor may a checked-out one (pg-pool listens on idle clients only): the query in flight
  // rejects with the error, the caller's transaction fails, and release() discards the client.
  pool.on('connect', (client) => {
    client.on('error', (err) => console.error('postgres connection error:', err.message));
  });
  return pool;
}

/** Runs fn inside one transaction on one client, in the current workspace; rolls back on any error. */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(beginStatement());
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (err) {
    if (isConnectionError(err)) broken = err as Error;
    else await client.query('rollback').catch((e: Error) => void (broken = e));
    throw err;
  } finally {
    // a client whose connection broke is destroyed, never handed to the next caller
    client.release(broken);
  }
}

// SQLSTATE classes and codes that mean "the server or the connection went away", not "bad query".
const CONNECTION_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH']);

/** True when err says Postgres is unreachable or the connection broke: retry later, the query was fine. */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | undefined;
  if (!e) return false;
  if (e.code && (CONNECTION_SQLSTATES.has(e.code) || e.code.startsWith('08') || CONNECTION_ERRNOS.has(e.code))) return true;
  const message = e.message ?? '';
  return (
    message.includes('Connection terminated') ||
    message.includes('timeout exceeded when trying to connect') ||
    message.includes('Client has encountered a connection error') ||
    message.includes('the database system is starting up') ||
    message.includes('the database system is shutting down')
  );
}
