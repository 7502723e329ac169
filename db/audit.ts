// intake.audit_log: the audit context a write's transaction carries (who, which request, which
// workflow), the log's reader behind GET /api/audit, and reconstruction of an entity from its row
// images (migration 0031) for npm run audit:restore. The rows themselves are written by the SQL
// functions and triggers that make each change, in the same transaction (sql/functions/audit.sql).
import type pg from 'pg';
import { withTransaction, type Pool } from './pool';
import { InvalidCursorError, isIdValue } from './cursor';

/** Who acts: the API key's name (or a process: 'campaign', 'apikey:create'), and through what. */
export interface AuditContext {
  actor: string;
  requestId?: string;
  workflowId?: string;
}

/**
 * Sets the audit context of the client's current transaction: transaction-local settings
 * (set_config(…, true)), so they never leak to the next user of a pooled connection.
 */
export async function setAuditContext(db: Pick<pg.PoolClient, 'query'>, ctx: AuditContext): Promise<void> {
  await db.query('select intake.f_set_audit_context($1, $2, $3)', [ctx.actor, ctx.requestId ?? null, ctx.workflowId ?? null]);
}

/** Runs fn in one transaction whose audit rows name ctx. */
export function withAudit<T>(pool: Pool, ctx: AuditContext, fn: (db: pg.PoolClient) => Promise<T>): Promise<T> {
  return withTransaction(pool, async (db) => {
    await setAuditContext(db, ctx);
    return fn(db);
  });
}

export interface AuditFilter {
  entity?: string;
  entity_id?: string;
  actor?: string;
  action?: string;
  since?: string;
  until?: string;
  cursor?: string;
  limit: number;
}

export interface AuditRow {
  audit_id: number;
  at: Date;
  actor: string | null;
  action: string;
  entity: string;
  entity_id: string | null;
  before: unknown;
  after: unknown;
  request_id: string | null;
  workflow_id: string | null;
}

const encodeCursor = (auditId: number) => Buffer.from(JSON.stringify({ id: auditId })).toString('base64url');

/** The audit_id a cursor of ours stands for; anything else throws InvalidCursorError. */
function decodeCursor(text: string): number {
  let c: { id?: unknown };
  try {
    c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError('not a cursor this API returned');
  }
  if (!c || typeof c !== 'object' || !isIdValue(c.id)) throw new InvalidCursorError('not a cursor this API returned');
  return c.id;
}

export const RESTORABLE_ENTITIES = ['contact', 'person', 'company', 'campaign'] as const;
export type RestorableEntity = (typeof RESTORABLE_ENTITIES)[number];

export interface RestoreOutcome {
  entity: RestorableEntity;
  id: number;
  /** the time the entity was restored as of */
  at: string;
  outcome: 'restored' | 'unchanged';
  /** the row before the restore (null: it was deleted); a campaign's carries its steps */
  before: Record<string, unknown> | null;
  after: Record<string, unknown>;
}

/** The log cannot give what was asked (unknown entity, nothing recorded, not existing then). */
export class RestoreRefused extends Error {
  override name = 'RestoreRefused';
}

export function createAuditRepository(pool: Pool) {
  return {
    /**
     * Newest first, keyset on audit_id (each filter has an index in audit_id order); `since`
     * inclusive, `until` exclusive. Throws InvalidCursorError.
     */
    async page(f: AuditFilter): Promise<{ rows: AuditRow[]; nextCursor: string | null }> {
      const params: unknown[] = [];
      const p = (v: unknown) => `$${params.push(v)}`;
      const where: string[] = [];
      if (f.entity !== undefined) where.push(`entity = ${p(f.entity)}`);
      if (f.entity_id !== undefined) where.push(`entity_id = ${p(f.entity_id)}`);
      if (f.actor !== undefined) where.push(`actor = ${p(f.actor)}`);
      if (f.action !== undefined) where.push(`action = ${p(f.action)}`);
      if (f.since !== undefined) where.push(`at >= ${p(f.since)}::timestamptz`);
      if (f.until !== undefined) where.push(`at < ${p(f.until)}::timestamptz`);
      if (f.cursor !== undefined) where.push(`audit_id < ${p(decodeCursor(f.cursor))}`);
      const { rows } = await pool.query(
        `select audit_id, at, actor, action, entity, entity_id, before, after, request_id, workflow_id
           from intake.audit_log ${where.length ? `where ${where.join(' and ')}` : ''}
          order by audit_id desc limit ${p(f.limit + 1)}`,
        params,
      );
      const page = rows.slice(0, f.limit);
      return { rows: page, nextCursor: rows.length > f.limit ? encodeCursor(page[page.length - 1].audit_id) : null };
    },

    /**
     * Restores an entity to how it was at `at` (omitted: just before its last recorded update or
     * delete), in one transaction, audited as entity_restored. dryRun: the same, rolled back.
     */
    async restore(r: { entity: RestorableEntity; id: number; at?: Date; actor: string; dryRun?: boolean }): Promise<RestoreOutcome> {
      const rollback = new Error('dry run');
      let outcome: RestoreOutcome | undefined;
      try {
        await withTransaction(pool, async (tx) => {
          const { rows } = await tx.query('select intake.f_restore_entity($1, $2, $3, $4) as outcome', [r.entity, r.id, r.at ?? null, r.actor]);
          outcome = rows[0].outcome;
          if (r.dryRun) throw rollback;
        });
      } catch (err) {
        if (err === rollback) return outcome!;
        if ((err as { code?: string }).code === 'AR001') throw new RestoreRefused((err as Error).message);
        throw err;
      }
      return outcome!;
    },
  };
}

export type AuditRepository = ReturnType<typeof createAuditRepository>;
