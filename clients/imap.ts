// A sending identity's mailbox over IMAP (imapflow): opened read-only (EXAMINE, BODY.PEEK), so
// the people who read that mailbox find their messages as they left them, and parsed with
// mailparser into the parts common/inbound-mail.ts classifies.
import { ImapFlow } from 'imapflow';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { MailboxSettings } from '../common/config';
import { messageIdsIn, type InboundMessage } from '../common/inbound-mail';

/** A message read from the mailbox; `message` is undefined when it could not be parsed (`error` says why). */
export interface FetchedMessage {
  uid: number;
  receivedAt?: Date;
  message?: InboundMessage;
  error?: string;
}

export interface MailboxSession {
  folder: string;
  uidValidity: bigint;
  /** UIDs above `afterUid`, ascending, at most `limit`; `more`: others wait beyond them. */
  newUids(afterUid: number, limit: number): Promise<{ uids: number[]; more: boolean }>;
  /** The messages with these UIDs, in UID order. */
  fetch(uids: number[]): AsyncGenerator<FetchedMessage>;
  close(): Promise<void>;
}

export interface ImapReader {
  open(mailbox: MailboxSettings): Promise<MailboxSession>;
}

/** Failures that say the settings are wrong (login refused, no such folder): retrying soon will not help. */
export class MailboxConfigError extends Error {}

// DSN and reply parts sit at the start of a message; attachments past this are never downloaded.
const MAX_MESSAGE_BYTES = 256 * 1024;
const TEXT_CHARS = 20_000;

export function createImapReader({ timeoutMs = 30_000 }: { timeoutMs?: number } = {}): ImapReader {
  return {
    async open(mailbox) {
      const client = new ImapFlow({
        host: mailbox.host,
        port: mailbox.port,
        secure: mailbox.secure,
        doSTARTTLS: mailbox.secure ? undefined : { required: true, optional: undefined, never: false }[mailbox.starttls],
        auth: { user: mailbox.user, pass: mailbox.pass },
        logger: false,
        disableAutoIdle: true,
        connectionTimeout: timeoutMs,
        greetingTimeout: timeoutMs,
        socketTimeout: timeoutMs * 4,
      });
      // a dropped connection surfaces as a rejected command; without a listener it would crash the worker
      client.on('error', () => undefined);
      try {
        await client.connect();
      } catch (err) {
        const e = err as { authenticationFailed?: boolean; message?: string };
        if (e.authenticationFailed) throw new MailboxConfigError(`IMAP login refused for ${mailbox.identity} at ${mailbox.host}`);
        throw err;
      }
      let opened;
      try {
        opened = await client.mailboxOpen(mailbox.folder, { readOnly: true });
      } catch (err) {
        await client.logout().catch(() => client.close());
        throw new MailboxConfigError(`cannot open folder "${mailbox.folder}" of ${mailbox.identity}: ${(err as Error).message}`);
      }
      return {
        folder: mailbox.folder,
        uidValidity: BigInt(opened.uidValidity),
        async newUids(afterUid, limit) {
          if (opened.exists === 0) return { uids: [], more: false };
          // "n:*" also names the highest UID when every UID is below n: filter, don't trust the range
          const found = (await client.search({ uid: `${afterUid + 1}:*` }, { uid: true })) || [];
          const uids = found.filter((u) => u > afterUid).sort((a, b) => a - b);
          return { uids: uids.slice(0, limit), more: uids.length > limit };
        },
        async *fetch(uids) {
          if (!uids.length) return;
          // One FETCH for the batch, parsed after it is done: no other command may run inside it.
          const raw = new Map<number, { internalDate?: Date | string; source?: Buffer }>();
          for await (const msg of client.fetch(uids.join(','), { uid: true, internalDate: true, source: { maxLength: MAX_MESSAGE_BYTES } }, { uid: true })) {
            raw.set(msg.uid, { internalDate: msg.internalDate, source: msg.source });
          }
          for (const uid of uids) {
            const got = raw.get(uid);
            if (!got) continue; // expunged meanwhile
            const fetched: FetchedMessage = { uid, receivedAt: got.internalDate ? new Date(got.internalDate) : undefined };
            try {
              if (!got.source) throw new Error('the server sent no body');
              fetched.message = toInbound(await simpleParser(got.source, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true, keepDeliveryStatus: true }));
            } catch (err) {
              fetched.error = `unreadable: ${(err as Error).message}`.slice(0, 500);
            }
            yield fetched;
          }
        },
        async close() {
          await client.logout().catch(() => client.close());
        },
      };
    },
  };
}

/** mailparser's view of a message → what the classifier reads. */
export function toInbound(mail: ParsedMail): InboundMessage {
  const headers: Record<string, string> = {};
  for (const { key, line } of mail.headerLines) {
    // the raw line, unfolded, without its name
    headers[key] ??= line.slice(line.indexOf(':') + 1).replace(/\r?\n[ \t]+/g, ' ').trim();
  }
  const contentType = mail.headers.get('content-type') as { value?: string; params?: Record<string, string> } | undefined;
  const part = (...types: string[]) => mail.attachments.find((a) => types.includes(a.contentType.toLowerCase()))?.content.toString('utf8');
  const from = Array.isArray(mail.from) ? mail.from[0] : mail.from;
  return {
    messageId: mail.messageId,
    from: from?.value[0]?.address?.toLowerCase(),
    subject: mail.subject,
    headers,
    inReplyTo: messageIdsIn(headers['in-reply-to']),
    references: messageIdsIn(headers.references),
    contentType: contentType?.value,
    reportType: contentType?.params?.['report-type'],
    deliveryStatus: part('message/delivery-status', 'message/global-delivery-status'),
    feedbackReport: part('message/feedback-report'),
    originalHeaders: part('message/rfc822', 'text/rfc822-headers', 'message/rfc822-headers', 'message/global', 'message/global-headers'),
    text: mail.text?.slice(0, TEXT_CHARS),
  };
}
