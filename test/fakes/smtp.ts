// A local SMTP server standing in for the email provider: it accepts (or refuses) every
// message and records each delivery as received, duplicates included. Optionally it also serves
// the provider's event log over HTTP, per Mailgun's Events API: GET /v3/{domain}/events with
// Basic auth "api:<key>", filters event / message-id / recipient, limit ≤ 300, answered as
// {items: [...], paging: {...}}; events appear after an indexing lag.
import { createServer, type Server } from 'node:http';
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
  /** Serve the event log (Mailgun Events API) with this API key. */
  eventsLog?: { apiKey: string; lagMs?: number };
}

export interface SmtpSink {
  url: string;
  messages: ReceivedMessage[];
  /** Deliveries per "recipient|Message-ID": anything above 1 is a duplicate. */
  duplicates(): number;
  /** The event log's base for one sending domain (https://api.mailgun.net/v3/<domain> in production). */
  eventsUrl(domain: string): string;
  /** Requests the event log answered. */
  eventLookups: number;
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
  const events = options.eventsLog ? await startEventsLog(messages, options.eventsLog) : undefined;
  const sink: SmtpSink = {
    url: `smtp://127.0.0.1:${port}?ignoreTLS=true`,
    messages,
    eventLookups: 0,
    eventsUrl(domain) {
      if (!events) throw new Error('start the sink with eventsLog to get an event log');
      return `http://127.0.0.1:${(events.server.address() as AddressInfo).port}/v3/${domain}`;
    },
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
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (events) await new Promise<void>((resolve) => events.server.close(() => resolve()));
    },
  };
  events?.onLookup(() => (sink.eventLookups += 1));
  return sink;
}

async function startEventsLog(messages: ReceivedMessage[], { apiKey, lagMs = 0 }: { apiKey: string; lagMs?: number }) {
  let onLookup = () => undefined as void;
  const expected = `Basic ${Buffer.from(`api:${apiKey}`).toString('base64')}`;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const route = /^\/v3\/([^/]+)\/events$/.exec(url.pathname);
    if (req.method !== 'GET' || !route) return json(404, { message: 'Not Found' });
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'content-type': 'text/plain' });
      return res.end('Forbidden');
    }
    const limit = Number(url.searchParams.get('limit') ?? 100);
    if (!Number.isInteger(limit) || limit < 1 || limit > 300) return json(400, { message: "'limit' parameter should be between 1 and 300" });
    onLookup();
    const domain = route[1].toLowerCase();
    const event = url.searchParams.get('event');
    const messageId = url.searchParams.get('message-id');
    const recipient = url.searchParams.get('recipient')?.toLowerCase();
    const visibleBefore = Date.now() - lagMs;
    const items = messages
      .filter((m) => m.receivedAt <= visibleBefore && m.from.toLowerCase().endsWith(`@${domain}`))
      .flatMap((m) =>
        m.to.map((to, i) => ({
          id: `${m.receivedAt.toString(36)}-${i}`,
          event: 'accepted',
          timestamp: m.receivedAt / 1000,
          'log-level': 'info',
          method: 'SMTP',
          recipient: to,
          'recipient-domain': to.split('@')[1],
          envelope: { sender: m.from, targets: to, transport: 'smtp' },
          message: { headers: { 'message-id': m.messageId?.replace(/^<|>$/g, ''), from: m.headers.get('from'), to: m.headers.get('to'), subject: m.subject } },
        })),
      )
      .filter((e) => (!event || e.event === event) && (!messageId || e.message.headers['message-id'] === messageId) && (!recipient || e.recipient === recipient))
      .slice(0, limit);
    const page = (name: string) => `http://${req.headers.host}${url.pathname}/${name}`;
    json(200, { items, paging: { first: page('first'), last: page('last'), next: page('next'), previous: page('previous') } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, onLookup: (fn: () => void) => (onLookup = fn) };
}
