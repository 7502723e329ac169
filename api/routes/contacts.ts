import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { createContactsRepository } from '../../db/contacts';
import { InvalidCursorError } from '../../db/cursor';
import { createMasterDataRepository } from '../../db/master-data';
import { ErrorResponse } from '../schemas/common';
import { Contact, ContactBulkBody, ContactBulkResult, ContactCount, ContactDetail, ContactFilter, ContactListQuery, ContactPage, ContactParams, ContactPatch, PatchHeaders } from '../schemas/contacts';
import { HttpError } from '../errors';
import { createContactBulkRepository } from '../../db/contact-bulk';
import { auditContext } from '../audit-context';
import { startEnrichment } from '../enrich-runs';
import { workflowIds } from '../../contracts/ids';

/** The enrichment request a bulk enrich starts: enrich:bulk-<bulk_id>. */
const bulkEnrichRequest = (bulkId: number) => `bulk-${bulkId}`;

// mcp/contacts.ts reads the page query from here until the MCP search goes through the API
export { contactPage } from '../../db/contacts';

/** The page writer's key list: the Contact schema's fields, in its order. */
const CONTACT_FIELDS = Object.keys(Contact.shape);

/** "W/\"3\"" or "3" → 3. */
const etagVersion = (tag: string) => Number(/^(?:W\/)?"?(\d+)"?$/.exec(tag.trim())?.[1] ?? NaN);
const etag = (version: number) => `W/"${version}"`;

const contactRoutes: FastifyPluginAsyncZod = async (app) => {
  const contacts = createContactsRepository(app.pg);
  const masterData = createMasterDataRepository(app.pg);

  app.get('/api/contacts', {
    schema: {
      summary: 'Search and filter contacts, with cursor pagination',
      description: 'Sorted keyset pages (default 100, max 1000). Pass next_cursor back as cursor with the same filters and sort.',
      tags: ['contacts'],
      querystring: ContactListQuery,
      response: { 200: ContactPage, 400: ErrorResponse },
    },
  }, async (request, reply) => {
    const page = await contacts.searchPage(request.query).catch((err) => {
      if (err instanceof InvalidCursorError) throw new HttpError(400, err.message, { issues: [{ field: 'cursor', message: err.reason }] });
      throw err;
    });
    const total = page.total === undefined ? '' : `,"total":${page.total},"total_capped":${page.total_capped}`;
    // the ContactPage shape, written here: the key list keeps the schema's fields, in its order
    const body = `{"data":${JSON.stringify(page.rows, CONTACT_FIELDS)},"next_cursor":${JSON.stringify(page.next_cursor)}${total}}`;
    // a string with a JSON content type is sent as is
    return reply.type('application/json; charset=utf-8').send(body as never);
  });

  const bulk = createContactBulkRepository(app.pg);

  app.get('/api/contacts/count', {
    schema: {
      summary: 'How many contacts a filter selects (exact): the count of "select all matching"',
      tags: ['contacts'],
      querystring: ContactFilter,
      response: { 200: ContactCount, 400: ErrorResponse },
    },
  }, async (request) => ({ matched: await bulk.count(request.query) }));

  app.post('/api/contacts/bulk', {
    config: { scope: 'write' },
    schema: {
      summary: 'Act on every contact a filter selects: enrich, add to a campaign audience, suppress',
      description:
        'The selection is the filter of GET /api/contacts (not a list of ids), applied in the database when the action runs. ' +
        'Once per idempotency_key: a retry answers the first action (repeated: true) and changes nothing; the same key with ' +
        'another request is 409. suppress puts the addresses on the suppression list (manual); add_to_campaign adds the ' +
        'contacts to the campaign\'s audience for its next run (active, unsuppressed ones are queued); enrich starts the ' +
        'enrichment workflow enrich:bulk-<bulk_id> over the filter. Audited (contacts_bulk_<action>).',
      tags: ['contacts'],
      body: ContactBulkBody,
      response: { 200: ContactBulkResult, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse },
    },
  }, async (request) => {
    const body = request.body;
    const outcome = await bulk.act(body, (id) => (body.action === 'enrich' ? workflowIds.enrich(bulkEnrichRequest(id)) : null), auditContext(request));
    if ('refused' in outcome) {
      switch (outcome.refused) {
        case 'key_reused':
          throw new HttpError(409, 'idempotency_key: this key was used for another bulk request', { field: 'idempotency_key' });
        case 'campaign_not_found':
          throw new HttpError(404, `campaign_id: no campaign ${body.campaign_id}`, { field: 'campaign_id' });
        case 'campaign_closed':
          throw new HttpError(409, `campaign_id: campaign ${body.campaign_id} is ${outcome.status}`, { field: 'campaign_id' });
      }
    }
    const done = outcome.done;
    // started after the row commits, and again on a repeat: the workflow id makes that one run
    if (done.action === 'enrich') {
      await startEnrichment(app.temporal, app.config, { request_id: bulkEnrichRequest(done.bulk_id), force: false }, request.apiKey?.name, { contactFilter: body.filter });
    }
    return done;
  });

  app.get('/api/contacts/:id', {
    schema: {
      summary: 'A contact with its golden record, sources, history and intelligence',
      tags: ['contacts'],
      params: ContactParams,
      response: { 200: ContactDetail, 404: ErrorResponse },
    },
  }, async (request, reply) => {
    const { id } = request.params;
    const contact = await contacts.findById(id);
    if (!contact) throw new HttpError(404, `no contact ${id}`);
    const golden = await masterData.goldenRecordOfContact(id);
    reply.header('etag', etag(contact.version));
    return {
      ...(contact as z.infer<typeof Contact>),
      master: golden.master as never,
      company: golden.company as never,
      sources: golden.sources as never,
      history: golden.history as never,
      intelligence: golden.intelligence,
    };
  });

  app.patch('/api/contacts/:id', {
    config: { scope: 'write' },
    schema: {
      summary: 'Edit a contact (optimistic concurrency: If-Match or version)',
      description:
        'Send If-Match with the ETag of GET /api/contacts/:id (stale → 412) or the `version` you read (stale → 409). ' +
        'The edit is audited (before/after) and becomes the highest-priority source (manual_edit) of the golden record. ' +
        'The status of a bounced, unsubscribed or do_not_contact contact is not editable (409).',
      tags: ['contacts'],
      params: ContactParams,
      headers: PatchHeaders,
      body: ContactPatch,
      response: { 200: Contact, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 412: ErrorResponse, 428: ErrorResponse },
    },
  }, async (request, reply) => {
    const { id } = request.params;
    const { version, ...changes } = request.body;
    const ifMatch = request.headers['if-match'];
    if (ifMatch === undefined && version === undefined) {
      throw new HttpError(428, 'send If-Match with the contact\'s ETag, or the version you are editing');
    }
    const edit = await contacts.edit(id, {
      changes,
      ifMatchVersion: ifMatch === undefined ? undefined : etagVersion(ifMatch),
      version,
      actor: request.apiKey?.name ?? null,
    });
    if ('refused' in edit) {
      switch (edit.refused) {
        case 'invalid':
          throw new HttpError(400, `invalid ${edit.issues.map((b) => b.field).join(', ')}`, { issues: edit.issues, total: edit.issues.length });
        case 'not_found':
          throw new HttpError(404, `no contact ${id}`);
        case 'stale_if_match':
          throw new HttpError(412, `the contact changed since that ETag (now ${etag(edit.version)})`, { version: edit.version }, { etag: etag(edit.version) });
        case 'stale_version':
          throw new HttpError(409, `stale version ${version}: the contact is at version ${edit.version}`, { version: edit.version });
        case 'status_locked':
          throw new HttpError(409, `status: the contact is ${edit.status}; an edit does not change that (only unsubscribe, bounce and suppression handling do)`, { field: 'status', status: edit.status });
      }
    }
    reply.header('etag', etag(edit.contact.version));
    return edit.contact as z.infer<typeof Contact>;
  });
};

export default contactRoutes;
