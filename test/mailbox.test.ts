// Replies and bounces read from the sending mailbox: a real Dovecot (test/support/dovecot.ts),
// the reader workflow on a real Temporal server, the campaign it answers sent through an SMTP
// sink. A person's reply stops the sequence; an out-of-office does not; DSNs bounce (5.x.x hard
// and suppressed, 4.x.x soft); a mailto unsubscribe unsubscribes; forged and unrelated mail
// changes nothing; reading again, or a rebuilt folder, counts nothing twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import { historyRecorder, uniqueId } from './support/harness';
import { result, seedContacts, startCampaignStack, waitUntil, type CampaignStack } from './support/campaign-fixtures';
import { startDovecot, type Dovecot } from './support/dovecot';
import { dsn, humanReply, mailtoUnsubscribe, newsletter, outOfOffice } from './fixtures/inbound-mail';
import { createImapReader } from '../clients/imap';
import { ensureMailboxReaders } from '../worker/mailbox-readers';
import { checkMailboxSignal, mailboxProgressQuery, type MailboxProgress } from '../contracts/mailbox';
import type { CampaignProgress } from '../contracts/campaign';

const SALES = 'sales@sender.example';
const REPLIES = 'replies@sender.example';
let dovecot: Dovecot;
let stack: CampaignStack;
const readers = new Map<string, WorkflowHandle>();

beforeAll(async () => {
  dovecot = await startDovecot([{ user: SALES, password: 'sales-secret' }, { user: REPLIES, password: 'replies-secret' }]);
  await dovecot.session(REPLIES, (c) => c.mailboxCreate('Replies'));
  const mailboxes = [dovecot.settings(SALES), dovecot.settings(REPLIES, 'Replies')];
  stack = await startCampaignStack({
    name: 'mailbox',
    // polls only when told (checkNow), so each test decides when the mailbox is read
    deps: { mailboxes, imap: createImapReader({ timeoutMs: 10_000 }), mailboxBatchSize: 3, mailboxPollSeconds: 3600 },
  });
  const ids = await ensureMailboxReaders(stack.temporal, { IMAP_URL: mailboxes, IMAP_POLL_SECONDS: 3600, TASK_QUEUE: stack.taskQueue });
  ids.forEach((id, i) => readers.set(mailboxes[i].identity, stack.temporal.workflow.getHandle(id)));
  // starting again finds the running readers
  expect(await ensureMailboxReaders(stack.temporal, { IMAP_URL: mailboxes, IMAP_POLL_SECONDS: 3600, TASK_QUEUE: stack.taskQueue })).toEqual(ids);
});

// RECORD_HISTORIES=1 refreshes the reader's history in test/histories/ (see test/replay.test.ts)
const histories = historyRecorder();

afterAll(async () => {
  if (readers.has(SALES)) histories.record('mailbox-reader.json', readers.get(SALES)!.workflowId);
  histories.save();
  for (const handle of readers.values()) await handle.terminate('test over').catch(() => undefined);
  await stack?.close();
  await dovecot?.stop();
});

/** Signals the reader and waits until it has polled since, and is idle again. */
async function read(identity: string): Promise<MailboxProgress> {
  const handle = readers.get(identity)!;
  const before = await waitUntil(async () => {
    const p = await handle.query(mailboxProgressQuery);
    return p.phase === 'waiting' ? p : undefined;
  }, 30_000, 'the reader to be idle');
  await handle.signal(checkMailboxSignal);
  return waitUntil(async () => {
    const p = await handle.query(mailboxProgressQuery);
    return p.polls > before.polls && p.phase === 'waiting' ? p : undefined;
  }, 30_000, `${identity} to be read`);
}

const to = (email: string) => stack.sink.messages.filter((m) => m.to.includes(email));
const ledger = async (mailbox: string) => (await stack.db.pool.query(
  'select uid::int, outcome, outreach_id is not null as matched, reason from marketing.mailbox_messages where mailbox = $1 order by uidvalidity, uid', [mailbox])).rows;

describe('replies and bounces from the sending mailbox', () => {
  it('reply stops, out-of-office does not; DSNs bounce hard (suppressed) and soft; mailto unsubscribes; the rest changes nothing', { timeout: 120_000 }, async () => {
    const source = uniqueId('imap');
    const people = ['human', 'away', 'gone', 'full', 'leaver', 'quiet'].map((n) => `${n}@recipient.example`);
    const contactIds = await seedContacts(stack.db.pool, source, people.map((email) => ({ email })));
    const [first, second] = await Promise.all([
      stack.http.template({ subject: 'Hello {{ contact.first_name }}', text_body: 'one' }),
      stack.http.template({ subject: 'Following up', text_body: 'two' }),
    ]);
    const campaignId = await stack.http.campaign({ criteria: { sources: [source] }, rate_per_minute: 6000, steps: [{ template_id: first }, { template_id: second, delay: { seconds: 8 } }] });
    const workflowId = await stack.http.start(campaignId);
    await waitUntil(async () => people.every((p) => to(p).length === 1), 30_000, 'step 1 to everyone');
    // hold step 2 until the mailbox has been read, however slow this machine is
    expect((await stack.http.call('POST', `/api/campaigns/${campaignId}/pause`)).status).toBe(202);
    const sent = Object.fromEntries(people.map((p) => [p.split('@')[0], to(p)[0]]));
    const unsubscribeSubject = decodeURIComponent(/subject=([^>]+)>/.exec(sent.leaver.headers.get('list-unsubscribe')!)![1]);

    const uids = await dovecot.deliver(SALES, [
      humanReply({ from: 'human@recipient.example', to: SALES, inReplyTo: sent.human.messageId!, subject: 'Re: Hello Pat' }),
      outOfOffice({ from: 'away@recipient.example', to: SALES, inReplyTo: sent.away.messageId! }),
      dsn({ to: SALES, recipient: 'gone@recipient.example', originalMessageId: sent.gone.messageId!, status: '5.1.1', action: 'failed',
        diagnostic: '550 5.1.1 <gone@recipient.example>: Recipient address rejected: User unknown in virtual mailbox table' }),
      dsn({ to: SALES, recipient: 'full@recipient.example', originalMessageId: sent.full.messageId!, status: '4.2.2', action: 'delayed',
        diagnostic: '452 4.2.2 Mailbox full', returned: 'headers' }),
      mailtoUnsubscribe({ from: 'leaver@recipient.example', to: 'unsubscribe@sender.example', subject: unsubscribeSubject }),
      // someone else quoting quiet@'s Message-ID: not the recipient, so not a reply of theirs
      humanReply({ from: 'intruder@elsewhere.example', to: SALES, inReplyTo: sent.quiet.messageId! }),
      newsletter(SALES),
    ]);
    const progress = await read(SALES);
    expect(progress.totals).toMatchObject({ read: 7, reply: 1, auto_reply: 1, hard_bounce: 1, soft_bounce: 1, unsubscribe: 1, unmatched: 1, other: 1 });
    expect(progress.lastUid).toBe(uids[6]);
    expect((await ledger(SALES)).map((r) => [r.uid, r.outcome, r.matched])).toEqual([
      [uids[0], 'reply', true], [uids[1], 'auto_reply', true], [uids[2], 'hard_bounce', true], [uids[3], 'soft_bounce', true],
      [uids[4], 'unsubscribe', true], [uids[5], 'unmatched', false], [uids[6], 'other', false],
    ]);

    const { rows: events } = await stack.db.pool.query(
      `select c.email, e.kind, e.verdict, e.step_no, e.dedupe_key, e.details from marketing.engagement_events e
         join vault.contacts c using (contact_id) where e.campaign_id = $1 order by e.event_id`, [campaignId]);
    expect(events.map((e) => [e.email, e.kind, e.verdict, e.step_no])).toEqual([
      ['human@recipient.example', 'reply', 'human', 1],
      ['away@recipient.example', 'auto_reply', 'machine', 1],
      ['gone@recipient.example', 'hard_bounce', 'machine', 1],
      ['full@recipient.example', 'soft_bounce', 'machine', 1],
      ['leaver@recipient.example', 'unsubscribe', 'human', 1],
    ]);
    expect(events[0].dedupe_key).toMatch(new RegExp(`^imap:${SALES}:INBOX:\\d+:${uids[0]}$`));
    expect(events[2].details).toMatchObject({ status: '5.1.1', recipient: 'gone@recipient.example', source: 'mailbox' });
    expect(events[3].details).toMatchObject({ status: '4.2.2' });

    expect((await stack.http.call('POST', `/api/campaigns/${campaignId}/resume`)).status).toBe(202);
    const final = (await result(stack.temporal, workflowId)) as CampaignProgress;
    const { rows: step2 } = await stack.db.pool.query(
      `select email, status from marketing.outreach_history where campaign_id = $1 and step_no = 2 order by email`, [campaignId]);
    expect(Object.fromEntries(step2.map((r) => [r.email.split('@')[0], r.status]))).toEqual({
      away: 'sent', full: 'sent', gone: 'suppressed', human: 'stopped', leaver: 'suppressed', quiet: 'sent',
    });
    expect(final.steps[0]).toMatchObject({ replied: 1, bounced: 2, unsubscribed: 1 });
    expect((await stack.http.call('GET', `/api/campaigns/${campaignId}`)).body.response_count).toBe(1);
    const { rows: statuses } = await stack.db.pool.query(
      `select c.email, c.status, s.reason, s.source from vault.contacts c left join marketing.suppressions s using (email)
        where c.contact_id = any($1) order by c.email`, [[...contactIds.values()]]);
    expect(statuses.filter((s) => s.status !== 'active' || s.reason)).toEqual([
      { email: 'gone@recipient.example', status: 'bounced', reason: 'bounced', source: 'mailbox' },
      { email: 'leaver@recipient.example', status: 'unsubscribed', reason: 'unsubscribed', source: 'mailto' },
    ]);

    // Reading again records nothing; the people reading this mailbox find every message unread.
    const again = await read(SALES);
    expect(again.totals).toEqual(progress.totals);
    expect(await ledger(SALES)).toHaveLength(7);
    const { rows: [{ n }] } = await stack.db.pool.query('select count(*)::int as n from marketing.engagement_events where campaign_id = $1', [campaignId]);
    expect(n).toBe(5);
    const flags = await dovecot.session(SALES, async (c) => {
      await c.mailboxOpen('INBOX', { readOnly: true });
      const all: string[][] = [];
      for await (const m of c.fetch('1:*', { flags: true })) all.push([...(m.flags ?? [])]);
      return all;
    });
    expect(flags).toHaveLength(7);
    expect(flags.some((f) => f.includes('\\Seen'))).toBe(false);
  });

  it('a folder rebuilt with a new UIDVALIDITY is read again from the start, and a reply seen before is not counted twice', { timeout: 60_000 }, async () => {
    const source = uniqueId('rebuilt');
    await seedContacts(stack.db.pool, source, [{ email: 'rebuilt@recipient.example' }, { email: 'later@recipient.example' }]);
    const t = await stack.http.template({ subject: 'Hello', text_body: 'one' });
    const campaignId = await stack.http.campaign({ from_email: REPLIES, criteria: { sources: [source] }, steps: [{ template_id: t }] });
    await result(stack.temporal, await stack.http.start(campaignId));
    const reply = humanReply({ from: 'rebuilt@recipient.example', to: REPLIES, inReplyTo: to('rebuilt@recipient.example')[0].messageId! });
    await dovecot.deliver(REPLIES, [reply], 'Replies');
    expect((await read(REPLIES)).totals).toMatchObject({ read: 1, reply: 1 });

    // the folder is deleted and made again (a migration, a restore): same message, new UIDVALIDITY
    const before = await dovecot.session(REPLIES, async (c) => (await c.mailboxOpen('Replies', { readOnly: true })).uidValidity);
    await dovecot.session(REPLIES, (c) => c.mailboxDelete('Replies'));
    await new Promise((r) => setTimeout(r, 1100)); // Dovecot's UIDVALIDITY is the creation time in seconds
    await dovecot.session(REPLIES, (c) => c.mailboxCreate('Replies'));
    const later = humanReply({ from: 'later@recipient.example', to: REPLIES, inReplyTo: to('later@recipient.example')[0].messageId! });
    await dovecot.deliver(REPLIES, [reply, later], 'Replies');
    const after = await dovecot.session(REPLIES, async (c) => (await c.mailboxOpen('Replies', { readOnly: true })).uidValidity);
    expect(after).not.toBe(before);

    const progress = await read(REPLIES);
    expect(progress.totals).toMatchObject({ read: 3, reply: 2, duplicate: 1 });
    const { rows } = await stack.db.pool.query(
      `select c.email, count(*)::int as n from marketing.engagement_events e join vault.contacts c using (contact_id)
        where e.campaign_id = $1 and e.kind = 'reply' group by c.email order by c.email`, [campaignId]);
    expect(rows).toEqual([{ email: 'later@recipient.example', n: 1 }, { email: 'rebuilt@recipient.example', n: 1 }]);
    expect((await stack.http.call('GET', `/api/campaigns/${campaignId}`)).body.response_count).toBe(2);
  });

  it('odd mail (a NUL in an encoded subject, a 2,000-character Message-ID) is kept in the ledger and never stops the mailbox', { timeout: 60_000 }, async () => {
    const source = uniqueId('odd');
    await seedContacts(stack.db.pool, source, [{ email: 'odd@recipient.example' }, { email: 'after@recipient.example' }]);
    const t = await stack.http.template({ subject: 'Hello', text_body: 'one' });
    const campaignId = await stack.http.campaign({ criteria: { sources: [source] }, steps: [{ template_id: t }] });
    await result(stack.temporal, await stack.http.start(campaignId));
    const nulSubject = `=?utf-8?B?${Buffer.from('Re: Hello\u0000there').toString('base64')}?=`;
    const uids = await dovecot.deliver(SALES, [
      humanReply({ from: 'odd@recipient.example', to: SALES, inReplyTo: to('odd@recipient.example')[0].messageId!, subject: nulSubject }),
      newsletter(SALES).replace(/^Message-ID: .*$/m, `Message-ID: <${'x'.repeat(2000)}@vendor.example>`),
      humanReply({ from: 'after@recipient.example', to: SALES, inReplyTo: to('after@recipient.example')[0].messageId! }),
    ]);
    await read(SALES);
    const rows = (await ledger(SALES)).filter((r) => uids.includes(r.uid));
    expect(rows.map((r) => [r.outcome, r.matched])).toEqual([['reply', true], ['other', false], ['reply', true]]);
    const { rows: events } = await stack.db.pool.query(
      `select e.details->>'subject' as subject from marketing.engagement_events e where e.campaign_id = $1 and kind = 'reply' order by event_id`, [campaignId]);
    expect(events).toEqual([{ subject: 'Re: Hellothere' }, { subject: 'Re: Hello' }]);
  });
});
