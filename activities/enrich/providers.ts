// One provider call of a planned round, on the provider's own rate-capped task queue: reserve the
// credits, ask the provider, record its answers. A retry never pays twice.
import { activityInfo, ApplicationFailure, heartbeat } from '@temporalio/activity';
import type { ApolloClient } from '../../clients/apollo';
import type { ApifyClient, DatasetItem } from '../../clients/apify';
import { ProviderError, ProviderRateLimitedError } from '../../clients/http-errors';
import type { EnrichRepository, ProviderCallRef } from '../../db/enrich';
import { apifyAnswerFields, apifyProfileKey, apolloAnswerFields, linkedinKey } from '../../common/enrich-answers';
import type { ProviderCallResult } from '../../contracts/enrich';
import type { EnrichSettings } from './settings';

/** A provider's typed error as a Temporal failure: the retry policy and the provider's delay decide. */
export function providerFailure(err: unknown): unknown {
  if (!(err instanceof ProviderError)) return err;
  if (err instanceof ProviderRateLimitedError) {
    return ApplicationFailure.create({
      type: 'ProviderRateLimited',
      message: err.message,
      nextRetryDelay: err.retryAfterMs,
      details: [{ provider: err.provider, retryAfterMs: err.retryAfterMs }],
    });
  }
  return ApplicationFailure.create({ type: err.retryable ? 'ProviderUnavailable' : 'ProviderRejected', message: err.message, nonRetryable: !err.retryable, details: [{ provider: err.provider, status: err.status }] });
}

export function createProviderCallActivities({ requests, apollo, apify, settings }: {
  requests: EnrichRepository;
  apollo?: ApolloClient;
  apify?: ApifyClient;
  settings: EnrichSettings;
}) {
  /** Reserves the call's most possible cost; false when the call must not be made (then its recorded result stands). */
  async function reserve(ref: ProviderCallRef, maxCredits: number): Promise<boolean> {
    const reserved = await requests.reserveCredits(ref, maxCredits);
    if (reserved === 'missing') throw ApplicationFailure.nonRetryable(`no planned call ${JSON.stringify(ref)}`, 'EnrichPlanMissing');
    return reserved === 'ok';
  }

  /** The provider's error as a Temporal failure, after counting a 429 (best effort: the metric never fails the call's retry). */
  async function failed(err: unknown): Promise<unknown> {
    if (err instanceof ProviderRateLimitedError) await requests.recordRateLimited(err.provider).catch(() => undefined);
    return providerFailure(err);
  }

  return {
    /** One Apollo people/bulk_match (≤ 10 people) for a planned call; runs on the Apollo task queue. */
    async callApollo(ref: ProviderCallRef): Promise<ProviderCallResult> {
      if (!apollo) throw ApplicationFailure.nonRetryable('Apollo is not configured (APOLLO_API_KEY)', 'ProviderRejected');
      const contacts = await requests.callContacts(ref);
      if (!(await reserve(ref, contacts.length))) return requests.callResult(ref);
      let answer;
      try {
        answer = await apollo.bulkMatchPeople(contacts.map((c) => compactDetails({
          email: c.email, first_name: c.first_name, last_name: c.last_name, domain: c.company_domain, linkedin_url: c.linkedin_url,
        })));
      } catch (err) {
        throw await failed(err);
      }
      return requests.recordAnswers(ref, contacts.map((c, i) => {
        const person = answer.matches[i];
        return { contactId: c.contact_id, payload: person, fields: person ? apolloAnswerFields(person) : {} };
      }), answer.credits);
    },

    /** One Apify run of the LinkedIn profile actor over a planned call's profile URLs; Apify task queue. */
    async callApify(ref: ProviderCallRef): Promise<ProviderCallResult> {
      if (!apify || !settings.apifyActor) throw ApplicationFailure.nonRetryable('Apify is not configured (APIFY_TOKEN, APIFY_PROFILE_ACTOR)', 'ProviderRejected');
      const contacts = (await requests.callContacts(ref)).filter((c) => linkedinKey(c.linkedin_url));
      if (!contacts.length) return requests.recordAnswers(ref, [], 0);
      if (!(await reserve(ref, contacts.length))) return requests.callResult(ref);
      let items: DatasetItem[];
      try {
        const input = { [settings.apifyInputKey]: contacts.map((c) => c.linkedin_url) };
        // A retry after a lost worker picks up the run it had started (its id is in the heartbeat) instead of paying twice.
        const startedRunId = (activityInfo().heartbeatDetails as { runId?: string } | undefined)?.runId;
        ({ items } = await apify.runToCompletion(settings.apifyActor, input, { pollSecs: 30, startedRunId, onWait: (run) => heartbeat({ runId: run.id }) }));
      } catch (err) {
        throw await failed(err);
      }
      const byKey = new Map<string, DatasetItem>();
      for (const item of items) {
        const key = apifyProfileKey(item);
        if (key) byKey.set(key, item);
      }
      const answers = contacts.map((c) => {
        const item = byKey.get(linkedinKey(c.linkedin_url)!) ?? null;
        return { contactId: c.contact_id, payload: item, fields: item ? apifyAnswerFields(item) : {} };
      });
      // Apify bills compute, not records; a profile returned counts as one credit of the budget.
      return requests.recordAnswers(ref, answers, answers.filter((a) => a.payload).length);
    },
  };
}

function compactDetails(d: Record<string, string | null>): Record<string, string> {
  return Object.fromEntries(Object.entries(d).filter(([, v]) => v)) as Record<string, string>;
}
