// The bench's SMTP sink in a process of its own (the provider is elsewhere in production too).
// Parent ↔ child over IPC: {url, eventsUrl?} at start; 'stats' → {count, duplicates};
// 'deliveries' → {deliveries: ["recipient|Message-ID", …]} (one entry per delivery); 'reset'.
// `--events-key KEY --events-domain DOMAIN [--events-lag-ms N]` also serves the provider's event
// log (Mailgun's Events API, test/fakes/smtp.ts) for that sending domain.
import { parseArgs } from 'node:util';
import { startSmtpSink } from '../test/fakes/smtp';

const { values } = parseArgs({
  options: {
    'events-key': { type: 'string' },
    'events-domain': { type: 'string', default: 'sender.example' },
    'events-lag-ms': { type: 'string', default: '300' },
  },
});
const eventsKey = values['events-key'];
const sink = await startSmtpSink({ keepRaw: false, eventsLog: eventsKey ? { apiKey: eventsKey, lagMs: Number(values['events-lag-ms']) } : undefined });
process.on('message', (msg) => {
  if (msg === 'stats') process.send!({ count: sink.messages.length, duplicates: sink.duplicates() });
  if (msg === 'deliveries') process.send!({ deliveries: sink.messages.flatMap((m) => m.to.map((to) => `${to}|${m.messageId}`)) });
  if (msg === 'reset') sink.messages.length = 0;
  if (msg === 'stop') void sink.close().then(() => process.exit(0));
});
// the parent went away without saying stop: nothing else would end this process
process.on('disconnect', () => void sink.close().then(() => process.exit(0)));
process.send!({ url: sink.url, eventsUrl: eventsKey ? sink.eventsUrl(values['events-domain']) : undefined });
