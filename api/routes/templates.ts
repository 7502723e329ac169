import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { checkTemplate, compileTemplate, renderTemplate, SAMPLE_CONTEXT, TEMPLATE_VARIABLES, type TemplateParts } from '../../common/templates';
import { ErrorResponse, NoContent } from '../schemas/common';
import { DraftPreviewBody, Preview, PreviewBody, Template, TemplateBody, TemplateList, TemplateParams } from '../schemas/templates';
import { HttpError } from '../errors';
import { auditContext } from '../audit-context';
import { createTemplatesRepository } from '../../db/templates';

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
  const templates = createTemplatesRepository(app.pg);
  const tags = ['templates'];
  const render = (t: TemplateParts, contact: Record<string, any>) => {
    const base = (app.config.PUBLIC_BASE_URL ?? `http://localhost:${app.config.PORT}`).replace(/\/$/, '');
    const out = renderTemplate(compileTemplate(t), { contact, campaign: { id: 0, name: 'preview' }, unsubscribe_url: `${base}/u/preview` });
    return { subject: out.subject, html: out.html ?? null, text: out.text ?? null };
  };
  app.post('/api/templates', {
    config: { scope: 'write' },
    schema: { summary: 'Create a Liquid template (strict variables)', tags, body: TemplateBody, response: { 201: Template, 400: ErrorResponse } },
  }, async (request, reply) => {
    const t = request.body;
    assertValid(t);
    return reply.code(201).send(await templates.create(t, auditContext(request)));
  });

  app.get('/api/templates', {
    schema: { summary: 'List templates', tags, response: { 200: TemplateList } },
  }, async () => ({ templates: await templates.list() }));

  app.get('/api/templates/:id', {
    schema: { summary: 'One template', tags, params: TemplateParams, response: { 200: Template, 404: ErrorResponse } },
  }, async (request) => {
    const t = await templates.find(request.params.id);
    if (!t) throw new HttpError(404, `template ${request.params.id} does not exist`);
    return t;
  });

  app.put('/api/templates/:id', {
    config: { scope: 'write' },
    schema: { summary: 'Replace a template', tags, params: TemplateParams, body: TemplateBody, response: { 200: Template, 400: ErrorResponse, 404: ErrorResponse } },
  }, async (request) => {
    const t = request.body;
    assertValid(t);
    const replaced = await templates.replace(request.params.id, t, auditContext(request));
    if (!replaced) throw new HttpError(404, `template ${request.params.id} does not exist`);
    return replaced;
  });

  app.delete('/api/templates/:id', {
    config: { scope: 'write' },
    schema: { summary: 'Delete a template no campaign uses', tags, params: TemplateParams, response: { 204: NoContent, 404: ErrorResponse, 409: ErrorResponse } },
  }, async (request, reply) => {
    const campaignId = await templates.usedBy(request.params.id);
    if (campaignId !== null) throw new HttpError(409, `template ${request.params.id} is used by campaign ${campaignId}`);
    if (!(await templates.remove(request.params.id, auditContext(request)))) throw new HttpError(404, `template ${request.params.id} does not exist`);
    return reply.code(204).send(null);
  });

  // The editor's live preview: content not saved yet, checked as a save checks it (400 per field).
  app.post('/api/templates/preview', {
    config: { scope: 'read' },
    schema: {
      summary: 'Render template content that is not saved (the editor\'s live preview) for one contact, or a sample contact without contact_id; problems a save would refuse are 400s per field',
      tags, body: DraftPreviewBody, response: { 200: Preview, 400: ErrorResponse, 404: ErrorResponse },
    },
  }, async (request) => {
    const { contact_id, ...parts } = request.body;
    assertValid(parts);
    if (contact_id === undefined) return render(parts, SAMPLE_CONTEXT.contact);
    const contact = await templates.previewContact(contact_id);
    if (!contact) throw new HttpError(404, `contact ${contact_id} does not exist`, { field: 'contact_id', issues: [{ field: 'contact_id', message: `contact ${contact_id} does not exist` }] });
    return render(parts, contact);
  });

  app.post('/api/templates/:id/preview', {
    config: { scope: 'read' },
    schema: { summary: 'Render a template for one contact', tags, params: TemplateParams, body: PreviewBody, response: { 200: Preview, 404: ErrorResponse } },
  }, async (request) => {
    const { template: t, contact } = await templates.previewInputs(request.params.id, request.body.contact_id);
    if (!t) throw new HttpError(404, `template ${request.params.id} does not exist`);
    if (!contact) throw new HttpError(404, `contact ${request.body.contact_id} does not exist`, { field: 'contact_id' });
    return render(t, contact);
  });
};

export default templateRoutes;
