// Human vs machine: the user-agent classes and the verdicts for opens and clicks (common/engagement.ts),
// and what a message in the sending mailbox is (common/inbound-mail.ts). Pure functions, real strings.
import { describe, expect, it } from 'vitest';
import { classifyAgent, clickVerdict, openVerdict, BOT_CLICK_SECONDS, MACHINE_OPEN_SECONDS } from '../common/engagement';
import { classifyInbound, parseFieldBlocks, type InboundMessage } from '../common/inbound-mail';

const AGENTS = {
  appleMpp: 'Mozilla/5.0',
  appleMail: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)',
  gmail: 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)',
  yahoo: 'YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html',
  chrome: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  firefox: 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  iphoneSafari: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  outlook: 'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)',
  thunderbird: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0',
  curl: 'curl/8.5.0',
  python: 'python-requests/2.32.3',
  headless: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36',
  barracuda: 'Mozilla/5.0 (compatible; Barracuda Sentinel (EE))',
  googlebot: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
};

describe('user agent classes', () => {
  it('names the mail proxies, scanners, clients and browsers', () => {
    expect(classifyAgent(AGENTS.appleMpp)).toBe('apple_mpp');
    expect(classifyAgent(AGENTS.gmail)).toBe('gmail_proxy');
    expect(classifyAgent(AGENTS.yahoo)).toBe('yahoo_proxy');
    for (const ua of [AGENTS.curl, AGENTS.python, AGENTS.headless, AGENTS.barracuda, AGENTS.googlebot]) expect(classifyAgent(ua), ua).toBe('scanner');
    expect(classifyAgent(AGENTS.outlook)).toBe('mail_client');
    expect(classifyAgent(AGENTS.thunderbird)).toBe('mail_client');
    for (const ua of [AGENTS.chrome, AGENTS.firefox, AGENTS.iphoneSafari]) expect(classifyAgent(ua), ua).toBe('browser');
    expect(classifyAgent(undefined)).toBe('none');
    expect(classifyAgent('  ')).toBe('none');
    expect(classifyAgent('SomethingElse/1.0')).toBe('other');
  });

  it('Apple Mail from Apple\'s own addresses is the privacy proxy; from anywhere else it is Apple Mail', () => {
    expect(classifyAgent(AGENTS.appleMail, '17.58.101.3')).toBe('apple_mpp');
    expect(classifyAgent(AGENTS.appleMail, '::ffff:17.58.101.3')).toBe('apple_mpp');
    expect(classifyAgent(AGENTS.appleMail, '203.0.113.9')).toBe('browser');
    expect(classifyAgent(AGENTS.appleMail)).toBe('browser');
    // a browser from Apple's network is still a browser: only the mail agent's fetches are proxied
    expect(classifyAgent(AGENTS.chrome, '17.58.101.3')).toBe('browser');
  });
});

describe('open verdicts', () => {
  it('machine: any image proxy or scanner, however late; anything within a few seconds of the send', () => {
    for (const agent of ['apple_mpp', 'gmail_proxy', 'yahoo_proxy', 'scanner', 'none'] as const) expect(openVerdict(agent, 3600), agent).toBe('machine');
    expect(openVerdict('browser', 0)).toBe('machine');
    expect(openVerdict('browser', MACHINE_OPEN_SECONDS - 1)).toBe('machine');
    expect(openVerdict('mail_client', null)).toBe('machine'); // fetched before the send was even confirmed
  });
  it('human: a client or browser opening after that', () => {
    expect(openVerdict('browser', MACHINE_OPEN_SECONDS)).toBe('human');
    expect(openVerdict('mail_client', 600)).toBe('human');
    expect(openVerdict('other', 600)).toBe('human');
  });
});

describe('click verdicts', () => {
  it('bot: the honeypot link at any time, scanners, agent-less requests, anything within ~15 s', () => {
    expect(clickVerdict('browser', 86_400, true)).toBe('bot');
    expect(clickVerdict('scanner', 3600)).toBe('bot');
    expect(clickVerdict('none', 3600)).toBe('bot');
    expect(clickVerdict('browser', 12)).toBe('bot'); // the scanners' typical ~12 s after delivery
    expect(clickVerdict('browser', BOT_CLICK_SECONDS - 1)).toBe('bot');
    expect(clickVerdict('browser', null)).toBe('bot');
  });
  it('human: a browser click after that', () => {
    expect(clickVerdict('browser', BOT_CLICK_SECONDS)).toBe('human');
    expect(clickVerdict('mail_client', 90)).toBe('human');
  });
});

const message = (m: Partial<InboundMessage>): InboundMessage => ({ headers: {}, inReplyTo: [], references: [], ...m });
const OURS = '<oh.41.0123456789abcdef0123456789abcdef@sender.example>';

describe('mailbox messages', () => {
  it('a reply quoting our Message-ID is a reply; out-of-office by header or subject is an auto-reply', () => {
    expect(classifyInbound(message({ subject: 'Re: Hello', inReplyTo: [OURS] }))).toEqual({ kind: 'reply', messageIds: [OURS] });
    expect(classifyInbound(message({ subject: 'Re: Hello', references: ['<other@x>', OURS] }))).toMatchObject({ kind: 'reply', messageIds: ['<other@x>', OURS] });
    const auto = (m: Partial<InboundMessage>) => classifyInbound(message({ inReplyTo: [OURS], ...m }));
    expect(auto({ headers: { 'auto-submitted': 'auto-replied' } })).toMatchObject({ kind: 'auto_reply', why: 'Auto-Submitted: auto-replied' });
    expect(auto({ headers: { 'auto-submitted': 'no' }, subject: 'Re: Hello' })).toMatchObject({ kind: 'reply' });
    expect(auto({ headers: { 'x-autoreply': 'yes' } })).toMatchObject({ kind: 'auto_reply' });
    expect(auto({ headers: { precedence: 'auto_reply' } })).toMatchObject({ kind: 'auto_reply' });
    expect(auto({ headers: { 'return-path': '<>' } })).toMatchObject({ kind: 'auto_reply' });
    for (const subject of ['Automatic reply: Hello', 'Out of Office: Hello', 'AW: Abwesenheitsnotiz', 'Automatische Antwort: Hallo',
      'Réponse automatique : Bonjour', 'Respuesta automática: Hola', 'Re: Autoreply', 'I am out of the office', 'On vacation until May']) {
      expect(auto({ subject }), subject).toMatchObject({ kind: 'auto_reply', why: 'subject' });
    }
    for (const subject of ['Re: Hello', 'Re: Out of curiosity', 'Re: your automatic billing offer']) expect(auto({ subject }), subject).toMatchObject({ kind: 'reply' });
    expect(classifyInbound(message({ subject: 'Hello' }))).toEqual({ kind: 'other', reason: 'no In-Reply-To or References' });
  });

  it('RFC 3464: Status 5.x.x is a hard bounce, 4.x.x (delayed) soft; the original Message-ID comes from the returned message', () => {
    const report = (status: string, action: string) => message({
      from: 'mailer-daemon@mx.example', contentType: 'multipart/report', reportType: 'delivery-status',
      headers: { 'auto-submitted': 'auto-replied' }, // Postfix marks its bounces so; they are bounces all the same
      deliveryStatus: `Reporting-MTA: dns; mx.example\n\nFinal-Recipient: rfc822; Gone@Example.com\nAction: ${action}\nStatus: ${status}\nDiagnostic-Code: smtp; 550 5.1.1 user\n    unknown\n`,
      originalHeaders: `Message-ID: ${OURS}\nSubject: Hello\n\nbody`,
    });
    expect(classifyInbound(report('5.1.1', 'failed'))).toEqual({
      kind: 'bounce', bounce: 'hard', status: '5.1.1', recipient: 'gone@example.com', diagnostic: 'smtp; 550 5.1.1 user unknown', messageIds: [OURS],
    });
    expect(classifyInbound(report('4.2.2', 'delayed'))).toMatchObject({ kind: 'bounce', bounce: 'soft', status: '4.2.2' });
    expect(classifyInbound(report('2.0.0', 'delivered'))).toMatchObject({ kind: 'other' });
  });

  it('reads RFC 3464 field blocks with folded lines', () => {
    expect(parseFieldBlocks('A: 1\r\nB: two\r\n  lines\r\n\r\nC: 3')).toEqual([{ a: '1', b: 'two lines' }, { c: '3' }]);
  });

  it('a bounce that is not RFC 3464 still counts when it has a status code and quotes our Message-ID', () => {
    const qmail = message({
      from: 'mailer-daemon@mail.example', subject: 'failure notice',
      text: `Hi. This is the qmail-send program.\n<nobody@example.com>:\n550 5.1.1 mailbox unavailable\n--- Below this line is a copy of the message.\n\nMessage-ID: ${OURS}\nSubject: Hello\n`,
    });
    expect(classifyInbound(qmail)).toMatchObject({ kind: 'bounce', bounce: 'hard', status: '5.1.1', messageIds: [OURS] });
    expect(classifyInbound(message({ from: 'mailer-daemon@mail.example', subject: 'Undeliverable: Hello', text: 'could not deliver' }))).toMatchObject({ kind: 'other', reason: 'bounce without a status code' });
  });

  it('an ARF abuse report is a complaint; a mailto unsubscribe carries its token', () => {
    const arf = message({ contentType: 'multipart/report', reportType: 'feedback-report', feedbackReport: 'Feedback-Type: abuse\nUser-Agent: SomeGenerator/1.0\nVersion: 1\n', originalHeaders: `Message-ID: ${OURS}\n` });
    expect(classifyInbound(arf)).toMatchObject({ kind: 'complaint', feedbackType: 'abuse', messageIds: [OURS] });
    expect(classifyInbound(message({ subject: 'unsubscribe eyJhYmMiOjF9.c2lnbmF0dXJl' }))).toEqual({ kind: 'unsubscribe', token: 'eyJhYmMiOjF9.c2lnbmF0dXJl' });
  });
});
