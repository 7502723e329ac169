// Liquid templates (marketing.templates): saved by the API, compiled by the sender per step.
import type { Pool } from './pool';
import { withAudit, type AuditContext } from './audit';

export interface TemplateText {
  name: string;
  subject: string;
  html?: string | null;
  text_body?: string | null;
}

export interface TemplateRow {
  template_id: number;
  name: string;
  subject: string;
  html: string | null;
  text_body: string | null;
  created_at: Date;
  updated_at: Date;
}

/** A campaign step's template; updated_at tells a cached compilation apart from a stale one. */
export interface StepTemplate {
  step_no: number;
  template_id: number;
  updated_at: Date;
  subject: string;
  html: string | null;
  text_body: string | null;
}

const COLUMNS = 'template_id, name, subject, html, text_body, created_at, updated_at';

export function createTemplatesRepository(pool: Pool) {
  return {
    /** Saves a new template, audited (template_created). */
    async create(t: TemplateText, ctx: AuditContext): Promise<TemplateRow> {
      const { rows } = await withAudit(pool, ctx, (db) => db.query(
        `select ${COLUMNS} from marketing.f_create_template($1, $2, $3, $4)`,
        [t.name, t.subject, t.html ?? null, t.text_body ?? null],
      ));
      return rows[0];
    },

    /** The newest thousand. */
    async list(): Promise<TemplateRow[]> {
      const { rows } = await pool.query(`select ${COLUMNS} from marketing.templates order by template_id desc limit 1000`);
      return rows;
    },

    async find(templateId: number): Promise<TemplateRow | null> {
      const { rows } = await pool.query(`select ${COLUMNS} from marketing.templates where template_id = $1`, [templateId]);
      return rows[0] ?? null;
    },

    /** Replaces the text, audited (template_updated: the changed fields); null when there is no such template. */
    async replace(templateId: number, t: TemplateText, ctx: AuditContext): Promise<TemplateRow | null> {
      const { rows } = await withAudit(pool, ctx, (db) => db.query(
        `select ${COLUMNS} from marketing.f_replace_template($1, $2, $3, $4, $5) where template_id is not null`,
        [templateId, t.name, t.subject, t.html ?? null, t.text_body ?? null],
      ));
      return rows[0] ?? null;
    },

    /** A campaign whose steps use the template, if any. */
    async usedBy(templateId: number): Promise<number | null> {
      const { rows } = await pool.query('select campaign_id from marketing.campaign_steps where template_id = $1 limit 1', [templateId]);
      return rows[0]?.campaign_id ?? null;
    },

    /** Deletes it, audited (template_deleted, the whole template before); false when there was none. */
    async remove(templateId: number, ctx: AuditContext): Promise<boolean> {
      const { rows } = await withAudit(pool, ctx, (db) => db.query('select marketing.f_delete_template($1) as removed', [templateId]));
      return rows[0].removed;
    },

    /** Which of these ids exist. */
    async existing(templateIds: number[]): Promise<Set<number>> {
      const { rows } = await pool.query('select template_id from marketing.templates where template_id = any($1)', [templateIds]);
      return new Set(rows.map((r) => Number(r.template_id)));
    },

    /** The template and the contact a preview renders (either null when missing). */
    async previewInputs(templateId: number, contactId: number): Promise<{ template: Pick<TemplateRow, 'subject' | 'html' | 'text_body'> | null; contact: Record<string, any> | null }> {
      const [{ rows: [template] }, { rows: [contact] }] = await Promise.all([
        pool.query('select subject, html, text_body from marketing.templates where template_id = $1', [templateId]),
        pool.query('select * from vault.contacts where contact_id = $1', [contactId]),
      ]);
      return { template: template ?? null, contact: contact ?? null };
    },

    async previewContact(contactId: number): Promise<Record<string, any> | null> {
      const { rows: [contact] } = await pool.query('select * from vault.contacts where contact_id = $1', [contactId]);
      return contact ?? null;
    },

    async ofCampaignSteps(campaignId: number): Promise<StepTemplate[]> {
      const { rows } = await pool.query(
        `select s.step_no, t.template_id, t.updated_at, t.subject, t.html, t.text_body
           from marketing.campaign_steps s join marketing.templates t using (template_id) where s.campaign_id = $1`,
        [campaignId],
      );
      return rows;
    },
  };
}

export type TemplatesRepository = ReturnType<typeof createTemplatesRepository>;
