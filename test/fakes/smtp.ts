// A local SMTP server standing in for the email provider: it accepts (or refuses) every
// message and records each delivery as received, duplicates included.
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';

export interface ReceivedMessage {
  to: string[];
  from: string;
  messageId: string | undefined;
  subject: string | undefined;
  /** Header block as received (unfolded lines). */
  headers: Map<string, string>;
  raw: string;
  receivedAt: number;
}

export interface SmtpSinkOptions {
  /** Milliseconds to hold each message before accepting it (a slower provider). */
  acceptDelayMs?: number;
  /** Recipients refused at RCPT TO with 550 (a hard bounce at send time). */
  rejectRecipients?: string[];
  /** Keep the raw message (tests); the bench turns it off. */
  keepRaw?: boolean;
}

export interface SmtpSink {
  url: string;
  messages: ReceivedMessage[];
  /** Deliveries per "recipient|Message-ID": anything above 1 is a duplicate. */
  duplicates(): number;
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

function parseHeaders(raw: string): Map<string, string> {
  const end = raw.indexOf('\r\n\r\n');
  const block = (end >= 0 ? raw.slice(0, end) : raw).replace(/\r\n[ \t]+/g, ' ');
  const headers = new Map<string, string>();
  for (const line of block.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  return headers;
}

export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const messages: ReceivedMessage[] = [];
  const rejected = new Set((options.rejectRecipients ?? []).map((r) => r.toLowerCase()));
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    disableReverseLookup: true, // offline reverse DNS would stall every connection
    logger: false,
    size: 10 * 1024 * 1024,
    onRcptTo(address, _session, callback) {
      if (rejected.has(address.address.toLowerCase())) {
        const err = Object.assign(new Error('5.1.1 mailbox does not exist'), { responseCode: 550 });
        return callback(err);
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const accept = () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const headers = parseHeaders(raw);
          messages.push({
            to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            messageId: headers.get('message-id'),
            subject: headers.get('subject'),
            headers,
            raw: options.keepRaw === false ? '' : raw,
            receivedAt: Date.now(),
          });
          callback(null, 'queued');
        };
        if (options.acceptDelayMs) setTimeout(accept, options.acceptDelayMs);
        else accept();
      });
    },
  });
  // A sender killed mid-conversation resets its connections; that is expected here.
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}?ignoreTLS=true`,
    messages,
    duplicates() {
      const seen = new Map<string, number>();
      for (const m of messages) for (const to of m.to) seen.set(`${to}|${m.messageId}`, (seen.get(`${to}|${m.messageId}`) ?? 0) + 1);
      let dup = 0;
      for (const n of seen.values()) dup += n - 1;
      return dup;
    },
    async waitFor(count, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < count) {
        if (Date.now() > deadline) throw new Error(`SMTP sink: ${messages.length} of ${count} messages after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
