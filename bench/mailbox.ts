// npm run bench:mailbox [-- --messages 2000 --batch 100]
// The mailbox reader against a real Dovecot: N replies to N sends of ours, read by the poll
// activity (IMAP fetch, MIME parse, classification, one ledger transaction per message), next to
// a bare imapflow FETCH of the same messages in the same batches (the baseline), and mailparser
// alone over the same bytes. Prints messages/s and the ratio to the baseline.
import { parseArgs } from 'node:util';
import { simpleParser } from 'mailparser';
import { MockActivityEnvironment } from '@temporalio/testing';
import { startBenchDatabase, type Cleanups } from './stack';
import { startDovecot } from '../test/support/dovecot';
import { humanReply } from '../test/fixtures/inbound-mail';
import { createMailboxActivities } from '../activities/mailbox';
import { createImapReader } from '../clients/imap';
import type { MailboxPollResult } from '../contracts/mailbox';

const { values } = parseArgs({ options: { messages: { type: 'string', default: '2000' }, batch: { type: 'string', default: '100' } } });
const N = Number(values.messages);
const BATCH = Number(values.batch);
const SALES = 'sales@sender.example';
const cleanups: Cleanups = [];
const seconds = (t0: number) => (performance.now() - t0) / 1000;

try {
  const { pool } = await startBenchDatabase('mailbox', cleanups);
  const dovecot = await startDovecot([{ user: SALES, password: 'bench-secret' }]);
  cleanups.push(() => dovecot.stop());

  // N sends of ours, each answered by its recipient
  await pool.query(`insert into vault.contacts (email, first_name, source) select 'r' || i || '@recipient.example', 'Pat', 'bench' from generate_series(1, $1) i`, [N]);
  const { rows: [{ campaign_id: campaignId }] } = await pool.query(`insert into marketing.campaigns (name, from_email, status) values ('bench', $1, 'completed') returning campaign_id`, [SALES]);
  await pool.query(`insert into marketing.outreach_history (campaign_id, contact_id, step_no, email, status, sent_at)
                    select $1, contact_id, 1, email, 'sent', now() - interval '1 hour' from vault.contacts`, [campaignId]);
  const { rows: sends } = await pool.query(`update marketing.outreach_history set message_id = '<oh.' || outreach_id || '.' || md5(outreach_id::text) || '@sender.example>'
                                            where campaign_id = $1 returning email, message_id`, [campaignId]);
  let t0 = performance.now();
  const uids = await dovecot.deliver(SALES, sends.map((s) => humanReply({ from: s.email, to: SALES, inReplyTo: s.message_id })));
  console.log(`delivered ${uids.length} replies into Dovecot (IMAP APPEND) in ${seconds(t0).toFixed(1)} s`);

  // Baseline: the same FETCHes with imapflow alone, nothing parsed or stored.
  const sources: Buffer[] = [];
  t0 = performance.now();
  await dovecot.session(SALES, async (client) => {
    await client.mailboxOpen('INBOX', { readOnly: true });
    for (let i = 0; i < uids.length; i += BATCH) {
      for await (const m of client.fetch(uids.slice(i, i + BATCH).join(','), { uid: true, internalDate: true, source: { maxLength: 256 * 1024 } }, { uid: true })) {
        if (m.source) sources.push(m.source);
      }
    }
  });
  const fetchSeconds = seconds(t0);

  t0 = performance.now();
  for (const s of sources) await simpleParser(s, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true, keepDeliveryStatus: true });
  const parseSeconds = seconds(t0);

  // The reader's poll activity, called as Temporal would (one activity per batch) minus the server round trip.
  const { pollMailbox } = createMailboxActivities({ pool, mailboxes: [dovecot.settings(SALES)], imap: createImapReader(), mailboxBatchSize: BATCH });
  const env = new MockActivityEnvironment();
  let polls = 0;
  let recorded = 0;
  t0 = performance.now();
  for (let more = true; more; polls += 1) {
    const r: MailboxPollResult = await env.run(pollMailbox, { mailbox: SALES });
    recorded += r.counts.reply;
    more = r.more;
  }
  const readerSeconds = seconds(t0);
  const { rows: [check] } = await pool.query(`select count(*)::int as events, (select response_count from marketing.campaigns where campaign_id = $1) as responses
                                               from marketing.engagement_events where kind = 'reply'`, [campaignId]);
  if (recorded !== N || check.events !== N || check.responses !== N) throw new Error(`expected ${N} replies, recorded ${recorded}, ${check.events} events, ${check.responses} responses`);

  const rate = (s: number) => Math.round(N / s).toLocaleString('en-US');
  console.log(`\n${N} replies, batches of ${BATCH} (${polls} polls)`);
  console.log(`  baseline: imapflow FETCH alone       ${fetchSeconds.toFixed(2)} s   ${rate(fetchSeconds)} msg/s`);
  console.log(`  mailparser alone over the same bytes ${parseSeconds.toFixed(2)} s   ${rate(parseSeconds)} msg/s`);
  console.log(`  reader (fetch, parse, classify, one ledger transaction per message)`);
  console.log(`                                       ${readerSeconds.toFixed(2)} s   ${rate(readerSeconds)} msg/s   ${(readerSeconds / fetchSeconds).toFixed(1)}× the baseline`);
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch((err) => console.error(String(err)));
}
