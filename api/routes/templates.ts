import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { checkTemplate, compileTemplate, renderTemplate, TEMPLATE_VARIABLES } from '../../common/templates';
import { NoContent } from '../schemas/campaigns';
import { ErrorResponse } from '../schemas/common';
import { Preview, PreviewBody, Template, TemplateBody, TemplateList, TemplateParams } from '../schemas/templates';
import { HttpError } from '../errors';

const columns = 'template_id, name, subject, html, text_body, created_at, updated_at';

/** A template that would fail at send time is refused at save: syntax errors and unknown variables are 400s. */
function assertValid(body: { subject: string; html?: string | null; text_body?: string | null }) {
  const problems = checkTemplate(body);
  if (problems.length) {
    throw new HttpError(400, `invalid template: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`, {
      issues: problems.map((p) => ({ field: p.field, message: p.message })),
      allowed_variables: TEMPLATE_VARIABLES,
    });
  }
}

const templateRoutes: FastifyPluginAsyncZod = async (app) => {
  const tags = ['templates'];
  app.post('/api/templates', {
    config: { scope: 'write' },
    schema: { summary: 'Create a Liquid template (strict variables)', tags, body: TemplateBody, response: { 201: Template, 400: ErrorResponse } },
  }, async (request, reply) => {
    const t = request.body;
    assertValid(t);
    const { rows } = await app.pg.query(
      `insert into marketing.templates (name, subject, html, text_body) values ($1, $2, $3, $4) returning ${columns}`,
      [t.name, t.subject, t.html ?? null, t.text_body ?? null],
    );
    return reply.code(201).send(rows[0]);
  });

  app.get('/api/templates', {
    schema: { summary: 'List templates', tags, response: { 200: TemplateList } },
  }, async () => {
    const { rows } = await app.pg.query(`select ${columns} from marketing.templates order by template_id desc limit 1000`);
    return { templates: rows };
  });

  app.get('/api/templates/:id', {
    schema: { summary: 'One template', tags, params: TemplateParams, response: { 200: Template, 404: ErrorResponse } },
  }, async (request) => {
    const { rows } = await app.pg.query(`select ${columns} from marketing.templates where template_id = $1`, [request.params.id]);
    if (!rows.length) throw new HttpError(404, `template ${request.params.id} does not exist`);
    return rows[0];
  });

  app.put('/api/templates/:id', {
    config: { scope: 'write' },
    schema: { summary: 'Replace a template', tags, params: TemplateParams, body: TemplateBody, response: { 200: Template, 400: ErrorResponse, 404: ErrorResponse } },
  }, async (request) => {
    const t = request.body;
    assertValid(t);
    const { rows } = await app.pg.query(
      `update marketing.templates set name = $2, subject = $3, html = $4, text_body = $5, updated_at = now()
        where template_id = $1 returning ${columns}`,
      [request.params.id, t.name, t.subject, t.html ?? null, t.text_body ?? null],
    );
    if (!rows.length) throw new HttpError(404, `template ${request.params.id} does not exist`);
    return rows[0];
  });

  app.delete('/api/templates/:id', {
    config: { scope: 'write' },
    schema: { summary: 'Delete a template no campaign uses', tags, params: TemplateParams, response: { 204: NoContent, 404: ErrorResponse, 409: ErrorResponse } },
  }, async (request, reply) => {
    const used = await app.pg.query('select campaign_id from marketing.campaign_steps where template_id = $1 limit 1', [request.params.id]);
    if (used.rows.length) throw new HttpError(409, `template ${request.params.id} is used by campaign ${used.rows[0].campaign_id}`);
    const { rowCount } = await app.pg.query('delete from marketing.templates where template_id = $1', [request.params.id]);
    if (!rowCount) throw new HttpError(404, `template ${request.params.id} does not exist`);
    return reply.code(204).send(null);
  });

  app.post('/api/templates/:id/preview', {
    config: { scope: 'read' },
    schema: { summary: 'Render a template for one contact', tags, params: TemplateParams, body: PreviewBody, response: { 200: Preview, 404: ErrorResponse } },
  }, async (request) => {
    const [{ rows: [t] }, { rows: [contact] }] = await Promise.all([
      app.pg.query('select subject, html, text_body from marketing.templates where template_id = $1', [request.params.id]),
      app.pg.query('select * from vault.contacts where contact_id = $1', [request.body.contact_id]),
    ]);
    if (!t) throw new HttpError(404, `template ${request.params.id} does not exist`);
    if (!contact) throw new HttpError(404, `contact ${request.body.contact_id} does not exist`, { field: 'contact_id' });
    const base = (app.config.PUBLIC_BASE_URL ?? `http://localhost:${app.config.PORT}`).replace(/\/$/, '');
    const out = renderTemplate(compileTemplate(t), { contact, campaign: { id: 0, name: 'preview' }, unsubscribe_url: `${base}/u/preview` });
    return { subject: out.subject, html: out.html ?? null, text: out.text ?? null };
  });
};

export default templateRoutes;
