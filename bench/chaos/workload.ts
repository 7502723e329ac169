// One trial's work and its checks: rows posted through the API as an outside client would (on a
// lost connection or a 503 it retries the same batch id: idempotent), promoted as they are
// staged, then a campaign to recipients from the same ingest. What was lost or duplicated is
// counted in the database's own tables and at the SMTP sink, never from workflow counters.
import type { ChaosStack } from './stack';
import { FROM_EMAIL } from './stack';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the API's clients ran into during a trial. */
export interface ClientStats {
  /** requests that failed to connect or lost their connection (retried) */
  connectionErrors: number;
  /** 503 answers (retried after Retry-After) */
  unavailable: number;
  /** other 5xx answers (retried, but a defect: the API should answer 503 or succeed) */
  serverErrors: number;
  serverErrorSamples: string[];
}

export const newClientStats = (): ClientStats => ({ connectionErrors: 0, unavailable: 0, serverErrors: 0, serverErrorSamples: [] });

/**
 * A request to the API that retries until it gets an answer that is not a 5xx: as the API's
 * clients are told to (connection errors, 503 + Retry-After). Gives up after `giveUpMs`.
 */
export async function callApi(
  stack: ChaosStack,
  stats: ClientStats,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  giveUpMs = 600_000,
): Promise<{ status: number; body: any }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers = payload === undefined ? { authorization: stack.headers.authorization } : stack.headers;
  const deadline = Date.now() + giveUpMs;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`${method} ${path}: no answer but errors for ${giveUpMs / 1000} s`);
    let res: Response;
    try {
      res = await fetch(`${stack.baseUrl}${path}`, { method, headers, body: payload, signal: AbortSignal.timeout(120_000) });
    } catch {
      stats.connectionErrors += 1;
      await sleep(500);
      continue;
    }
    const text = await res.text().catch(() => '');
    if (res.status === 503) {
      stats.unavailable += 1;
      await sleep(Math.min(Number(res.headers.get('retry-after') ?? 1) || 1, 5) * 1000);
      continue;
    }
    if (res.status >= 500) {
      stats.serverErrors += 1;
      if (stats.serverErrorSamples.length < 5) stats.serverErrorSamples.push(`${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
      await sleep(1000);
      continue;
    }
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }
}

export interface TrialData {
  trial: number;
  /** the ingest's rows, and the campaign's recipients (posted first, as a batch of their own source) */
  rows: number;
  recipients: number;
  batchSize: number;
}

/** Every row a unique person: each one must end up staged once, promoted once, a golden record once. */
const person = (trial: number, kind: 'r' | 'm', i: number) => ({
  email: `t${trial}.${kind}${i}@${kind === 'm' ? 'recipient' : 'company'}${i % 2000}.com`,
  first_name: `First${i}`,
  last_name: `Last${i}`,
  title: kind === 'm' ? 'Head of Operations' : 'Account Executive',
  organization_name: `${kind === 'm' ? 'Recipient' : 'Company'} ${i % 2000}`,
});

export const recipientEmail = (trial: number, i: number) => person(trial, 'm', i).email;
export const batchPrefix = (trial: number) => `chaos-t${trial}-`;
const mailSource = (trial: number) => `chaos-t${trial}-mail`;

interface Batch {
  batchId: string;
  source: string;
  count: number;
  rows: (k: number) => ReturnType<typeof person>;
}

function batchesOf(d: TrialData): Batch[] {
  const batches: Batch[] = [{ batchId: `${batchPrefix(d.trial)}mail`, source: mailSource(d.trial), count: d.recipients, rows: (k) => person(d.trial, 'm', k) }];
  for (let start = 0, b = 0; start < d.rows; start += d.batchSize, b++) {
    batches.push({ batchId: `${batchPrefix(d.trial)}${b}`, source: `chaos-t${d.trial}`, count: Math.min(d.batchSize, d.rows - start), rows: (k) => person(d.trial, 'r', start + k) });
  }
  return batches;
}

/**
 * Posts every batch with "promote": true, `concurrency` requests in flight; returns the
 * workflow ids the API answered with. A batch re-posted after a lost answer is found, not
 * staged again (the API answers `existing`).
 */
export async function postRows(stack: ChaosStack, d: TrialData, stats: ClientStats, onAccepted: (workflowId: string) => void, concurrency = 2): Promise<string[]> {
  const batches = batchesOf(d);
  const workflowIds: string[] = [];
  let next = 0;
  const poster = async () => {
    while (next < batches.length) {
      const b = batches[next++];
      const rows = Array.from({ length: b.count }, (_, k) => b.rows(k));
      const res = await callApi(stack, stats, 'POST', '/api/ingest', { source: b.source, batch_id: b.batchId, rows, promote: true });
      if (res.status !== 202) throw new Error(`ingest ${b.batchId}: ${res.status} ${JSON.stringify(res.body)}`);
      workflowIds.push(res.body.workflow_id);
      onAccepted(res.body.workflow_id);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, poster));
  return workflowIds;
}

/** A one-step campaign to the trial's recipients, made before any kill (creating one is not idempotent; starting it is). */
export async function createCampaign(stack: ChaosStack, d: TrialData, stats: ClientStats, ratePerMinute: number): Promise<number> {
  const template = await callApi(stack, stats, 'POST', '/api/templates', {
    name: `chaos t${d.trial}`,
    subject: 'A question for {{ contact.first_name }}',
    text_body: 'Hi {{ contact.first_name }},\n\nhow is {{ contact.company_name }} doing?\n\nUnsubscribe: {{ unsubscribe_url }}',
  });
  if (template.status !== 201) throw new Error(`template: ${template.status} ${JSON.stringify(template.body)}`);
  const campaign = await callApi(stack, stats, 'POST', '/api/campaigns', {
    name: `chaos t${d.trial}`,
    from_email: FROM_EMAIL,
    criteria: { sources: [mailSource(d.trial)] },
    rate_per_minute: ratePerMinute,
    steps: [{ template_id: template.body.template_id }],
  });
  if (campaign.status !== 201) throw new Error(`campaign: ${campaign.status} ${JSON.stringify(campaign.body)}`);
  return campaign.body.campaign_id;
}

export async function startCampaign(stack: ChaosStack, campaignId: number, stats: ClientStats): Promise<string> {
  const res = await callApi(stack, stats, 'POST', `/api/campaigns/${campaignId}/start`);
  if (res.status !== 202) throw new Error(`start campaign ${campaignId}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.workflow_id;
}

export interface Progress {
  /** rows staged by ingest chunks of this trial */
  staged: number;
  /** loads through promotion chunks since the trial began */
  promoted: number;
  /** sends the ledger records as sent */
  sent: number;
}

/** Where the trial's work stands, from the chunk ledgers and the send ledger. */
export async function readProgress(stack: ChaosStack, trial: number, campaignId: number, promotedBefore: number): Promise<Progress> {
  const { rows: [p] } = await stack.pool.query(
    `select (select coalesce(sum(inserted + skipped), 0) from intake.ingest_chunks where starts_with(batch_id, $1))::int as staged,
            (select coalesce(sum(load_count), 0) from intake.promotion_chunks)::int as promoted,
            (select count(*) from marketing.outreach_history where campaign_id = $2 and status = 'sent')::int as sent`,
    [batchPrefix(trial), campaignId],
  );
  return { staged: p.staged, promoted: p.promoted - promotedBefore, sent: p.sent };
}

export async function promotedSoFar(stack: ChaosStack): Promise<number> {
  return (await stack.pool.query('select coalesce(sum(load_count), 0)::int as n from intake.promotion_chunks')).rows[0].n;
}

export interface RowCheck {
  expected: number;
  stagedRows: number;
  distinctRows: number;
  promotedRows: number;
  contacts: number;
  people: number;
  ingestedAudit: number;
  ingestedAuditDistinct: number;
  promotedAudit: number;
  promotedAuditDistinct: number;
  lost: number;
  duplicated: number;
}

/**
 * Rows lost: posted rows missing from any stage (staged, promoted, in the vault, a golden
 * record, audited). Rows duplicated: anything there more than once (a row staged twice, a
 * second golden record for one person, a second audit row for one load or contact).
 */
export async function checkRows(stack: ChaosStack, d: TrialData): Promise<RowCheck> {
  const prefix = batchPrefix(d.trial);
  const emails = `t${d.trial}.`;
  const { rows: [r] } = await stack.pool.query(
    `select count(*)::int as staged_rows, count(distinct (batch_id, row_no))::int as distinct_rows,
            count(*) filter (where status = 'promoted')::int as promoted_rows
       from intake.raw_loads where starts_with(batch_id, $1)`,
    [prefix],
  );
  const { rows: [c] } = await stack.pool.query(
    `select (select count(*) from vault.contacts where starts_with(email, $1))::int as contacts,
            (select count(*) from people.master where starts_with(email, $1) and merged_into is null)::int as people`,
    [emails],
  );
  const { rows: [a] } = await stack.pool.query(
    `select count(*)::int as ingested, count(distinct a.entity_id)::int as ingested_distinct
       from intake.audit_log a join intake.raw_loads l on l.load_id = a.entity_id::bigint
      where a.action = 'contact_ingested' and a.entity = 'raw_load' and starts_with(l.batch_id, $1)`,
    [prefix],
  );
  const { rows: [p] } = await stack.pool.query(
    `select count(*)::int as promoted, count(distinct a.entity_id)::int as promoted_distinct
       from intake.audit_log a join vault.contacts v on v.contact_id = a.entity_id::bigint
      where a.action = 'contact_promoted' and a.entity = 'contact' and starts_with(v.email, $1)`,
    [emails],
  );
  const expected = d.rows + d.recipients;
  const present = Math.min(r.distinct_rows, r.promoted_rows, c.contacts, c.people, a.ingested_distinct, p.promoted_distinct);
  const over = (n: number) => Math.max(0, n - expected);
  return {
    expected,
    stagedRows: r.staged_rows,
    distinctRows: r.distinct_rows,
    promotedRows: r.promoted_rows,
    contacts: c.contacts,
    people: c.people,
    ingestedAudit: a.ingested,
    ingestedAuditDistinct: a.ingested_distinct,
    promotedAudit: p.promoted,
    promotedAuditDistinct: p.promoted_distinct,
    lost: expected - present,
    duplicated:
      r.staged_rows - r.distinct_rows + over(c.contacts) + over(c.people) +
      (a.ingested - a.ingested_distinct) + over(a.ingested_distinct) + (p.promoted - p.promoted_distinct) + over(p.promoted_distinct),
  };
}

export interface SendCheck {
  expected: number;
  /** ledger rows marked sent */
  ledgerSent: number;
  /** deliveries at the sink to this trial's recipients */
  deliveries: number;
  /** recipients who got nothing, or whose ledger row is not sent under the Message-ID delivered */
  lost: number;
  /** deliveries beyond the first per recipient */
  duplicated: number;
}

/** Sends counted at the sink (one step: each recipient exactly one message) and in the send ledger. */
export async function checkSends(stack: ChaosStack, d: TrialData, campaignId: number): Promise<SendCheck> {
  const { rows } = await stack.pool.query<{ email: string; status: string; message_id: string | null }>(
    'select email, status, message_id from marketing.outreach_history where campaign_id = $1',
    [campaignId],
  );
  const ledger = new Map(rows.map((r) => [r.email, r]));
  const perKey = new Map<string, number>();
  const perRecipient = new Map<string, number>();
  for (const delivery of await stack.deliveries()) {
    const [to] = delivery.split('|');
    if (!to.startsWith(`t${d.trial}.m`)) continue;
    perKey.set(delivery, (perKey.get(delivery) ?? 0) + 1);
    perRecipient.set(to, (perRecipient.get(to) ?? 0) + 1);
  }
  let lost = 0;
  let duplicated = 0;
  let deliveries = 0;
  for (let i = 0; i < d.recipients; i++) {
    const email = recipientEmail(d.trial, i);
    const row = ledger.get(email);
    const got = perRecipient.get(email) ?? 0;
    deliveries += got;
    duplicated += Math.max(0, got - 1);
    if (!row || row.status !== 'sent' || !perKey.get(`${email}|${row.message_id}`)) lost += 1;
  }
  return { expected: d.recipients, ledgerSent: rows.filter((r) => r.status === 'sent').length, deliveries, lost, duplicated };
}

/** The API's readiness (Postgres, migrations, Temporal), as a load balancer would probe it. */
export async function apiReady(stack: ChaosStack): Promise<boolean> {
  try {
    return (await fetch(`${stack.baseUrl}/ready`, { signal: AbortSignal.timeout(2000) })).status === 200;
  } catch {
    return false;
  }
}
