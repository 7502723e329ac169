// A 20k-recipient campaign through the real stack: every message delivered once, and the
// workflow's history stays bounded through continue-as-new.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { uniqueId, type TestDatabase } from './support/harness';
import { api, startCampaignStack, type CampaignStack } from './support/campaign-fixtures';
import type { SmtpSink } from './fakes/smtp';
import type { CampaignProgress } from '../contracts/campaign';

let db: TestDatabase;
let temporal: Client;
let sink: SmtpSink;
let http: ReturnType<typeof api>;

let stack: CampaignStack;

beforeAll(async () => {
  stack = await startCampaignStack({ name: 'scale', sink: { keepRaw: false }, domainRatePerMinute: 10_000_000, config: { CAMPAIGN_BATCH_SIZE: '1000', CAMPAIGN_BATCHES_PER_RUN: '5' } });
  ({ db, temporal, sink, http } = stack);
});

afterAll(async () => {
  await stack?.close();
});

describe('large audiences', () => {
  it('sends a 20k-recipient campaign exactly once with a bounded history per run', { timeout: 600_000 }, async () => {
    const n = 20_000;
    const source = uniqueId('scale');
    await db.pool.query(
      `insert into vault.contacts (email, first_name, title, company_name, source)
       select 'p' || i || '@scale.example', 'P' || i, 'Buyer', 'Acme', $1 from generate_series(1, $2) as i`,
      [source, n],
    );
    const t = await http.template({ subject: 'Hello {{ contact.first_name }}', text_body: 'Hi {{ contact.first_name }} at {{ contact.company_name }}' });
    const campaignId = await http.campaign({ criteria: { sources: [source] }, rate_per_minute: 1_000_000, steps: [{ template_id: t }] });
    const started = Date.now();
    const start = await http.call('POST', `/api/campaigns/${campaignId}/start`);
    const workflowId = start.body.workflow_id as string;
    const final = (await temporal.workflow.getHandle(workflowId).result()) as CampaignProgress;
    const seconds = (Date.now() - started) / 1000;

    expect(final).toMatchObject({ phase: 'completed', audience: n, sent: n, remaining: 0 });
    expect(sink.messages).toHaveLength(n);
    expect(sink.duplicates()).toBe(0);
    expect(new Set(sink.messages.map((m) => m.to[0])).size).toBe(n);

    // Walk the continue-as-new chain from the first run and count each run's events.
    const events: number[] = [];
    let runId: string | undefined = start.body.run_id;
    while (runId) {
      const history = await temporal.workflow.getHandle(workflowId, runId).fetchHistory();
      events.push(history.events!.length);
      const last = history.events![history.events!.length - 1];
      runId = last.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
    }
    console.log(
      `20k campaign: ${n} messages in ${seconds.toFixed(1)} s (${(n / seconds).toFixed(0)} msg/s), ${final.batches} batches, ` +
        `${events.length} runs, events per run: max ${Math.max(...events)}, total ${events.reduce((a, b) => a + b, 0)}`,
    );
    expect(events.length).toBe(final.runs);
    expect(events.length).toBeGreaterThan(1);
    expect(Math.max(...events)).toBeLessThan(100); // 5 batches per run: far below Temporal's 51,200-event limit
  });
});
