// The send loop: under the campaign's and the sending domain's throttles, claim due rows
// (committed before SMTP), send them, confirm each right after the server accepts it.
import { Context, heartbeat, sleep } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { SendError, type Mailer } from '../../clients/mailer';
import type { SentMessageLog } from '../../clients/email-events';
import { TemplateRenderError, type CompiledTemplate } from '../../common/templates';
import type { CampaignBatchResult } from '../../contracts/campaign';
import type { CampaignsRepository } from '../../db/campaigns';
import type { ClaimedRow, MessageDetails, OutreachRepository, SenderCampaign } from '../../db/outreach';
import type { TemplatesRepository } from '../../db/templates';
import { campaignClock } from './clock';
import { ConfirmQueue } from './confirm-queue';
import type { MessageBuilder } from './messages';
import { lookUpInSentLog } from './provider-log';

export interface SendBatchInput {
  campaignId: number;
  /** Stable for one workflow chain: a retried or later batch of the same run reclaims its own rows. */
  claimToken: string;
  limit: number;
  /** Time budget of one batch, so pause/cancel signals are acted on within about this long. */
  maxMs: number;
  /**
   * Campaign time when the batch was scheduled (epoch ms): the workflow's clock, which due
   * times and sending windows are counted in. It is wall-clock time in production and skips
   * ahead under Temporal's time-skipping test server. Absent: wall-clock time.
   */
  asOf?: number;
}

export interface SenderDeps {
  campaigns: CampaignsRepository;
  outreach: OutreachRepository;
  templates: TemplatesRepository;
  messages: MessageBuilder;
  mailer?: Mailer;
  /** The provider's event log: settles sends an earlier attempt left in doubt. */
  sentLog?: SentMessageLog;
  /** How long a claim protects a row from other claimants (a retry of the same activity reclaims at once). */
  leaseSeconds: number;
  /** A sending domain's cap when marketing.sending_domains has none. */
  domainRatePerMinute: number;
  /** Sends accepted within this many ms share one confirmation statement (ConfirmQueue). */
  confirmGroupMs: number;
}

// Rows claimed at once: the most a crash can leave claimed-but-unconfirmed per chunk in flight.
const CHUNK = 500;

/** What a batch fixes before its first claim. */
interface Batch {
  input: SendBatchInput;
  campaign: SenderCampaign;
  domain: string;
  from: string;
  templates: Map<number, CompiledTemplate>;
  /** the campaign's and the sending domain's token buckets, with their rates */
  bucketKeys: string[];
  bucketRates: number[];
  /** this attempt's claims; rows of earlier attempts of the same chain are re-taken at once */
  claimToken: string;
  deadline: number;
  /**
   * An earlier attempt died before this one started, so whatever it got accepted is in the
   * provider's log once the log's indexing lag has passed from now.
   */
  logSettledAt: number;
  now: () => Date;
  confirmer: ConfirmQueue;
}

/** Everything a batch changes as it runs: the chunks in flight share this and nothing else. */
interface BatchState {
  result: CampaignBatchResult;
  /** rows claimed so far (sent or not) against input.limit */
  processed: number;
  /** sends in doubt: they stay claimed and the activity fails, so its retry settles them */
  uncertain: number;
  /** the server pushed back or a send is in doubt: claim no more */
  stop: boolean;
  /** when the batch ends waiting for tokens: how long the workflow sleeps instead of polling */
  tokenWaitMs: number;
}

/** What became of one message. */
type SendOutcome =
  | { kind: 'accepted' }
  | { kind: 'rejected'; reason: string }
  | { kind: 'deferred' }
  | { kind: 'uncertain' };

export function createBatchSender(deps: SenderDeps) {
  /**
   * Sends the next due messages of a campaign under its throttle. Per message: the row is
   * claimed (committed) before SMTP and confirmed right after the server accepts it.
   */
  return async function sendCampaignBatch(input: SendBatchInput): Promise<CampaignBatchResult> {
    const batch = await prepare(input);
    const state: BatchState = {
      result: { sent: 0, failed: 0, deferred: 0, stopped: 0, suppressed: 0, resent: 0, recovered: 0, remaining: 0, waitMs: null, steps: [] },
      processed: 0,
      uncertain: 0,
      stop: false,
      tokenWaitMs: 0,
    };
    // Two chunks in flight: the next is claimed and rendered while the last is on the wire,
    // so the SMTP pool never idles between chunks.
    const inFlight: Promise<void>[] = [];
    heartbeat();
    try {
      while (!state.stop && state.processed < input.limit && Date.now() < batch.deadline) {
        // pause and cancel are recorded by the API before it signals: stop claiming at once
        if ((await deps.campaigns.status(input.campaignId)) !== 'running') break;
        const want = Math.min(input.limit - state.processed, CHUNK);
        const grant = await deps.outreach.takeTokens(batch.bucketKeys, batch.bucketRates, want);
        if (grant.granted === 0) {
          // best effort: a lost metric write must not fail the batch
          await deps.outreach.recordThrottleWait(batch.domain, grant.wait_ms).catch(() => undefined);
          if (Date.now() + grant.wait_ms > batch.deadline) {
            state.tokenWaitMs = grant.wait_ms;
            break;
          }
          await sleep(Math.max(grant.wait_ms, 5));
          heartbeat();
          continue;
        }
        const claimed = await deps.outreach.claim({
          campaignId: input.campaignId, chain: input.claimToken, token: batch.claimToken, limit: grant.granted, leaseSeconds: deps.leaseSeconds, now: batch.now(),
        });
        const toSend = claimed.filter((r) => r.action === 'send');
        await deps.outreach.returnTokens(batch.bucketKeys, grant.granted - toSend.length);
        if (!claimed.length) break;
        state.processed += claimed.length;
        state.result.stopped += claimed.filter((r) => r.action === 'stopped').length;
        state.result.suppressed += claimed.filter((r) => r.action === 'suppressed').length;
        if (!toSend.length) continue;
        const chunk = sendChunk(batch, state, toSend);
        // awaited below or in `finally`; until then its failure (Postgres gone) must not count as
        // unhandled, which would end the worker process instead of failing this attempt
        chunk.catch(() => undefined);
        inFlight.push(chunk);
        if (inFlight.length >= 2) await inFlight.shift();
      }
      await Promise.all(inFlight);
      await batch.confirmer.drain();
    } finally {
      await Promise.allSettled(inFlight);
      await batch.confirmer.drain().catch(() => undefined);
    }
    return finish(batch, state);
  };

  async function prepare(input: SendBatchInput): Promise<Batch> {
    if (!deps.mailer) throw ApplicationFailure.nonRetryable('no SMTP_URL configured for this worker', 'ConfigError');
    const campaign = await deps.outreach.senderOf(input.campaignId);
    if (!campaign) throw ApplicationFailure.nonRetryable(`campaign ${input.campaignId} does not exist`, 'CampaignNotFound');
    const templates = deps.messages.compileSteps(await deps.templates.ofCampaignSteps(input.campaignId));
    const domain = String(campaign.from_email).split('@')[1].toLowerCase();
    const domainRate = await deps.outreach.domainRate(domain);
    const now = campaignClock(input.asOf);
    const { activityId, attempt } = Context.current().info;
    return {
      input,
      campaign,
      domain,
      // nodemailer takes a name/address pair where OutboundMessage declares a string
      from: (campaign.from_name ? { name: campaign.from_name, address: campaign.from_email } : campaign.from_email) as never,
      templates,
      bucketKeys: [`campaign:${input.campaignId}`, `domain:${domain}`],
      bucketRates: [campaign.rate_per_minute, domainRate ?? deps.domainRatePerMinute],
      claimToken: `${input.claimToken}#${activityId}.${attempt}`,
      deadline: Date.now() + input.maxMs,
      logSettledAt: Date.now() + (deps.sentLog?.settleMs ?? 0),
      now,
      confirmer: new ConfirmQueue((ids, responses, at) => deps.outreach.confirm(input.campaignId, ids, responses, at), now, deps.confirmGroupMs),
    };
  }

  /** One claimed chunk: settle rows in doubt, then render, send and hand each acceptance to the confirmer. */
  async function sendChunk(batch: Batch, state: BatchState, claimed: ClaimedRow[]): Promise<void> {
    const mailer = deps.mailer!;
    const details = await deps.outreach.messageDetails(claimed.map((r) => r.outreach_id));
    const byId = new Map(details.map((d) => [d.outreach_id, d]));
    let toSend = claimed;
    const reclaimed = claimed.filter((r) => r.reclaimed);
    if (deps.sentLog && reclaimed.length) {
      const { accepted, unsettled } = await lookUpInSentLog(deps.sentLog, reclaimed, (id) => byId.get(id)!.message_id, batch.logSettledAt);
      for (const id of accepted) batch.confirmer.add(id, 'accepted earlier: found in the provider event log');
      state.result.recovered += accepted.length;
      state.uncertain += unsettled.length; // stay claimed; the next attempt asks again
      const settled = new Set([...accepted, ...unsettled]);
      toSend = claimed.filter((r) => !settled.has(r.outreach_id));
    }
    const rejected: { id: number; reason: string }[] = [];
    const released: number[] = [];
    // A few lanes per SMTP connection, each rendering just before it sends: the event loop
    // never stalls on a whole chunk of rendering, so acceptances are confirmed promptly.
    const queue = toSend.slice();
    const lane = async () => {
      for (let row = queue.shift(); row; row = queue.shift()) {
        const outcome = await sendOne(batch, row, byId.get(row.outreach_id)!);
        if (outcome.kind === 'accepted' && row.reclaimed) state.result.resent += 1;
        else if (outcome.kind === 'rejected') rejected.push({ id: row.outreach_id, reason: outcome.reason });
        else if (outcome.kind === 'deferred') released.push(row.outreach_id);
        else if (outcome.kind === 'uncertain') state.uncertain += 1; // stays claimed: the retry re-sends it with the same Message-ID
      }
    };
    await Promise.all(Array.from({ length: Math.max(2, mailer.concurrency * 2) }, lane));
    if (rejected.length) await deps.outreach.fail(batch.input.campaignId, rejected.map((f) => f.id), rejected.map((f) => f.reason));
    if (released.length) await deps.outreach.release(released);
    state.result.failed += rejected.length;
    state.result.deferred += released.length;
    // the server pushed back, or a connection broke mid-message: stop and let the workflow decide
    if (released.length || state.uncertain) state.stop = true;
    heartbeat();
  }

  /** Renders and sends one message; an acceptance goes to the confirmer at once. */
  async function sendOne(batch: Batch, row: ClaimedRow, contact: MessageDetails): Promise<SendOutcome> {
    const template = batch.templates.get(row.step_no);
    if (!template) return { kind: 'rejected', reason: `step ${row.step_no} has no template` };
    try {
      const message = deps.messages.build(template, contact, batch.campaign, row.outreach_id, batch.domain);
      const sent = await deps.mailer!.send({ ...message, from: batch.from, to: row.email });
      batch.confirmer.add(row.outreach_id, sent.response);
      return { kind: 'accepted' };
    } catch (err) {
      // a template that cannot render for this contact (limits, a bad stored template) fails the message: a retry would fail the same way
      if (err instanceof TemplateRenderError || (err instanceof SendError && err.kind === 'rejected')) return { kind: 'rejected', reason: err.message.slice(0, 500) };
      if (err instanceof SendError && err.kind === 'deferred') return { kind: 'deferred' };
      return { kind: 'uncertain' };
    }
  }

  /** The batch's result once nothing is in flight; sends in doubt fail the attempt so its retry settles them. */
  async function finish(batch: Batch, state: BatchState): Promise<CampaignBatchResult> {
    const { result } = state;
    result.sent = batch.confirmer.confirmed;
    if (state.uncertain) {
      throw ApplicationFailure.retryable(
        `${state.uncertain} sends are in doubt (SMTP connection lost mid-message, or the provider log unreachable); retrying them with the same Message-ID`,
        'SmtpUncertain',
      );
    }
    if (batch.confirmer.error) throw batch.confirmer.error;
    const outlook = await deps.outreach.outlook(batch.input.campaignId, batch.now());
    result.remaining = outlook.remaining;
    result.waitMs = outlook.waitMs === null ? null : Math.max(outlook.waitMs, state.tokenWaitMs);
    if (result.deferred) result.waitMs = Math.max(result.waitMs ?? 0, 5000);
    result.steps = await deps.campaigns.stepProgress(batch.input.campaignId);
    return result;
  }
}
