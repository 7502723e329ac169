import nodemailer from 'nodemailer';

export interface OutboundMessage {
  from: string;
  to: string;
  replyTo?: string;
  subject: string;
  html?: string;
  text?: string;
  /** Derived from the outreach_history row: a re-send after a lost confirmation carries the same one. */
  messageId: string;
  headers?: Record<string, string>;
}

export interface SendResult {
  response: string;
}

/** What became of a refused send. */
export type SendFailureKind =
  | 'rejected' // 5xx: the server refused this message for good
  | 'deferred' // 4xx or refused before the message was handed over: safe to queue again
  | 'unknown'; // the connection broke while the message was in flight: it may have been accepted

export class SendError extends Error {
  constructor(readonly kind: SendFailureKind, message: string, readonly responseCode?: number) {
    super(message);
  }
}

export interface Mailer {
  /** Messages the transport sends at once (its pooled connections). */
  readonly concurrency: number;
  send(message: OutboundMessage): Promise<SendResult>;
  close(): void;
}

// nodemailer error codes raised before any message data reached the server.
const BEFORE_DATA = new Set(['ECONNECTION', 'EDNS', 'EAUTH', 'ETLS', 'EENVELOPE', 'ECONFIG', 'EMAXLIMIT']);

/** nodemailer over SMTP_URL with a connection pool (one TCP/TLS handshake per connection, not per message). */
export function createMailer(smtpUrl: string, { maxConnections = 5 }: { maxConnections?: number } = {}): Mailer {
  const url = new URL(smtpUrl);
  const transport = nodemailer.createTransport({
    pool: true,
    maxConnections,
    maxMessages: Infinity,
    host: url.hostname,
    port: Number(url.port || (url.protocol === 'smtps:' ? 465 : 587)),
    secure: url.protocol === 'smtps:',
    auth: url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined,
    // local sinks and dev servers speak plain SMTP; production URLs use smtps:// or STARTTLS
    ignoreTLS: url.searchParams.get('ignoreTLS') === 'true',
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
  return {
    concurrency: maxConnections,
    async send(message) {
      try {
        const info = await transport.sendMail({
          from: message.from,
          to: message.to,
          replyTo: message.replyTo,
          subject: message.subject,
          html: message.html,
          text: message.text,
          messageId: message.messageId,
          headers: message.headers,
        });
        return { response: String(info.response ?? '') };
      } catch (err) {
        throw classify(err as Error & { code?: string; responseCode?: number });
      }
    },
    close() {
      transport.close();
    },
  };
}

function classify(err: Error & { code?: string; responseCode?: number }): SendError {
  const code = err.responseCode;
  if (code && code >= 500) return new SendError('rejected', err.message, code);
  if (code && code >= 400) return new SendError('deferred', err.message, code);
  if (err.code && BEFORE_DATA.has(err.code)) return new SendError('deferred', err.message, code);
  return new SendError('unknown', err.message, code);
}
