// The bench's SMTP sink in a process of its own (the provider is elsewhere in production too).
// Parent ↔ child over IPC: {url} at start; 'stats' → {count, duplicates}; 'reset'.
import { startSmtpSink } from '../test/fakes/smtp';

const sink = await startSmtpSink({ keepRaw: false });
process.on('message', (msg) => {
  if (msg === 'stats') process.send!({ count: sink.messages.length, duplicates: sink.duplicates() });
  if (msg === 'reset') sink.messages.length = 0;
  if (msg === 'stop') void sink.close().then(() => process.exit(0));
});
process.send!({ url: sink.url });
