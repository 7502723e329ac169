// The MCP server (seed: "Garage Bay MCP" orchestrator): the API's operations as tools for agents.
// Every tool, reading or writing, goes through the REST API in-process (app.inject) with the
// caller's own API key, so validation, scopes, rate limits and queries are exactly the API's.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { ENRICH_FIELDS, PROVIDERS } from '../contracts/enrich';
import type { ApiCall } from './api-call';

export interface McpDeps {
  api: ApiCall;
}

const ok = (value: unknown): CallToolResult => ({
  content: [{ type: 'text', text: JSON.stringify(value, null, 2) }],
  structuredContent: value as Record<string, unknown>,
});

/** An API answer as a tool result: non-2xx becomes a tool error with the API's reason (and fields). */
function fromApi({ statusCode, body }: { statusCode: number; body: any }): CallToolResult {
  if (statusCode < 400) return ok(body);
  const fields = body?.details?.issues?.map((i: { field: string; message: string }) => `${i.field}: ${i.message}`);
  const reason = `${statusCode} ${body?.error ?? ''}: ${body?.message ?? 'request failed'}${fields?.length ? ` (${fields.join('; ')})` : ''}`;
  return { content: [{ type: 'text', text: reason }], isError: true };
}

/** A query string of the defined values. */
function queryString(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) search.set(name, String(value));
  return search.toString();
}

const idText = z.string().min(1).max(128).regex(/^[\w.:-]+$/, 'letters, digits and . _ : - only');

export function createMcpServer({ api }: McpDeps): McpServer {
  const server = new McpServer({ name: 'barton-outreach', version: '0.1.0' }, { capabilities: { tools: {} } });

  server.registerTool('ingest_rows', {
    title: 'Ingest contact rows',
    description: 'Stage rows (Apollo person shape or flat: email, first_name, last_name, title, company_name, company_domain, linkedin_url, …) as a batch; duplicates within 30 days are skipped. Starts workflow ingest:<batch_id>.',
    inputSchema: {
      source: idText.describe('where the rows come from, e.g. apollo, apify, manual'),
      batch_id: idText.describe('business id of the batch; a repeat returns the existing batch'),
      rows: z.array(z.record(z.string(), z.unknown())).min(1).max(10_000),
      promote: z.boolean().default(false).describe('promote the batch into vault.contacts once staged'),
      wait: z.boolean().default(true).describe('wait for the counts instead of returning the workflow id'),
    },
  }, async ({ wait, ...body }) => fromApi(await api('POST', `/api/ingest?wait=${wait}`, body)));

  server.registerTool('promote_batch', {
    title: 'Promote a batch',
    description: 'Validate and promote the pending rows of a batch (or of listed load ids) into vault.contacts. Returns {promoted, updated, failed}.',
    inputSchema: {
      batch_id: idText.optional(),
      load_ids: z.array(z.number().int().positive()).min(1).max(10_000).optional(),
      wait: z.boolean().default(true),
    },
  }, async ({ wait, ...body }) => fromApi(await api('POST', `/api/promote?wait=${wait}`, body)));

  server.registerTool('enrich_contacts', {
    title: 'Enrich contacts',
    description: 'Enrich contacts with Apollo and Apify (LinkedIn) in parallel; people enriched within 30 days are skipped unless force. Per field, providers are tried in waterfall order; a credit budget stops calls before it is exceeded. Returns {enriched_count, promoted_count, skipped_fresh, failed, providers, credits}.',
    inputSchema: {
      request_id: idText.optional().describe('business id: enrich:<request_id>; a repeat returns the same run'),
      contact_ids: z.array(z.number().int().positive()).min(1).max(50_000).optional(),
      person_ids: z.array(z.number().int().positive()).min(1).max(50_000).optional().describe('golden person ids (people.master)'),
      company_ids: z.array(z.number().int().positive()).min(1).max(10_000).optional().describe('golden company ids: everyone at these companies'),
      filter: z.object({ source: z.string().optional(), company_domain: z.string().optional(), limit: z.number().int().positive().optional() }).optional(),
      providers: z.array(z.enum(PROVIDERS)).min(1).optional(),
      force: z.boolean().default(false),
      credit_budget: z.number().int().nonnegative().optional(),
      waterfall: z.partialRecord(z.enum(ENRICH_FIELDS), z.array(z.enum(PROVIDERS)).min(1)).optional(),
      wait: z.boolean().default(true),
    },
  }, async ({ wait, ...body }) => fromApi(await api('POST', `/api/enrich?wait=${wait}`, body)));

  server.registerTool('get_workflow_status', {
    title: 'Workflow status',
    description: 'Status, result or failure of any workflow by id (ingest:<batch>, promote:<batch>, enrich:<request>), with its Temporal UI link.',
    inputSchema: { workflow_id: z.string().min(1).max(512) },
  }, async ({ workflow_id }) => fromApi(await api('GET', `/api/workflows/${encodeURIComponent(workflow_id)}`)));

  server.registerTool('search_contacts', {
    title: 'Search contacts',
    description: 'Contacts in the vault matching words of their name, email, company or domain (the last word may be the start of one: "ada love" finds Ada Lovelace), a status, a company domain or a minimum score; most recently updated first. Pass next_cursor back as cursor for the next page.',
    inputSchema: {
      query: z.string().trim().min(3).max(200).optional(),
      status: z.enum(['active', 'bounced', 'unsubscribed', 'do_not_contact']).optional(),
      company_domain: z.string().max(253).optional(),
      min_score: z.number().int().min(0).max(100).optional(),
      limit: z.number().int().min(1).max(100).default(25),
      cursor: z.string().max(500).optional().describe('next_cursor of the previous page'),
    },
  }, async ({ query, status, company_domain, min_score, limit, cursor }) => {
    // GET /api/contacts's own search; its page {data, next_cursor} as {contacts, next_cursor}
    const page = await api('GET', `/api/contacts?${queryString({ q: query, status, company_domain, score_min: min_score, limit, cursor })}`);
    return page.statusCode < 400 ? ok({ contacts: page.body.data, next_cursor: page.body.next_cursor }) : fromApi(page);
  });

  server.registerTool('get_contact', {
    title: 'Get a contact',
    description: 'One contact by id or email, as GET /api/contacts/:id gives it: its fields, golden record, sources, history and enrichment intelligence per provider (fetched_at, expires_at).',
    inputSchema: {
      contact_id: z.number().int().positive().optional(),
      email: z.string().max(320).optional(),
    },
  }, async ({ contact_id, email }) => {
    if (!contact_id && !email) return { content: [{ type: 'text', text: 'give contact_id or email' }], isError: true };
    let id = contact_id;
    if (!id) {
      // The API has no exact email filter: the whole email is one word of its search, and the
      // exact match is picked from the (few) emails that start with it.
      const wanted = email!.trim().toLowerCase();
      const found = await api('GET', `/api/contacts?${queryString({ q: wanted, limit: 1000 })}`);
      if (found.statusCode >= 400) return fromApi(found);
      id = (found.body.data as { contact_id: number; email: string }[]).find((c) => c.email === wanted)?.contact_id;
      if (!id) return { content: [{ type: 'text', text: `no contact ${email}` }], isError: true };
    }
    return fromApi(await api('GET', `/api/contacts/${id}`));
  });

  return server;
}
