// The email provider's event log, read to settle the one case SMTP cannot: a message the server
// accepted while our confirmation was lost (a worker killed between the 250 and the commit).
// Follows Mailgun's Events API (GET /v3/{domain}/events, Basic auth "api:<key>"); other
// providers keep a log searchable by Message-ID too (SendGrid Email Logs, Postmark, SES events).
import { z } from 'zod';
import { errorText, parseBody, ProviderRateLimitedError, ProviderRejectedError, ProviderUnavailableError, retryAfterMs, send } from './http-errors';

export interface SentMessageLog {
  /** How long after an acceptance the log is known to show it (providers index events with a lag). */
  readonly settleMs: number;
  /** Did the provider accept this Message-ID for this recipient? Throws when it cannot tell. */
  wasAccepted(messageId: string, recipient: string): Promise<boolean>;
}

export interface MailgunEventsOptions {
  /** The domain's API base, e.g. https://api.mailgun.net/v3/mg.example.com */
  baseUrl: string;
  apiKey: string;
  settleMs?: number;
  timeoutMs?: number;
}

const EventsPage = z.object({
  items: z.array(
    z.looseObject({
      event: z.string(),
      recipient: z.string().optional(),
      message: z.looseObject({ headers: z.looseObject({ 'message-id': z.string().optional() }) }).optional(),
    }),
  ),
});

/** Mailgun stores Message-IDs without the angle brackets. */
const bare = (messageId: string) => messageId.trim().replace(/^<|>$/g, '');

export function createMailgunEventsLog(opts: MailgunEventsOptions): SentMessageLog {
  const base = opts.baseUrl.replace(/\/?$/, '/');
  const authorization = `Basic ${Buffer.from(`api:${opts.apiKey}`).toString('base64')}`;
  return {
    settleMs: opts.settleMs ?? 10_000,
    async wasAccepted(messageId, recipient) {
      const url = new URL('events', base);
      url.searchParams.set('event', 'accepted');
      url.searchParams.set('message-id', bare(messageId));
      url.searchParams.set('recipient', recipient);
      url.searchParams.set('limit', '300');
      const res = await send({ provider: 'mailgun', url, method: 'GET', headers: { authorization }, timeoutMs: opts.timeoutMs ?? 15_000 });
      if (!res.ok) {
        const { text, json } = await errorText(res);
        const message = `${res.status} on ${url.pathname}: ${json?.message ?? (text.slice(0, 300) || res.statusText)}`;
        if (res.status === 429) throw new ProviderRateLimitedError('mailgun', message, retryAfterMs(res.headers.get('retry-after')));
        if (res.status >= 500) throw new ProviderUnavailableError('mailgun', message, res.status);
        throw new ProviderRejectedError('mailgun', message, res.status);
      }
      const page = await parseBody('mailgun', res, EventsPage);
      const id = bare(messageId);
      const to = recipient.toLowerCase();
      // the filters are the provider's; checking them again costs nothing and guards against a
      // log that ignores an unknown parameter and returns everything
      return page.items.some((e) => e.event === 'accepted' && e.recipient?.toLowerCase() === to && e.message?.headers['message-id'] === id);
    },
  };
}
