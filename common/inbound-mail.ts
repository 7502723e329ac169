// What a message in a sending mailbox is: a person's reply, an automatic reply (out of office,
// vacation), a delivery status notification (RFC 3464: hard or soft bounce), an abuse report
// (RFC 5965 ARF: complaint), an RFC 2369 mailto unsubscribe, or none of these. Pure: the IMAP
// client (clients/imap.ts) hands over the parts, the mailbox activity records the verdict.

/** The parts of a message the classifier reads (headers by lower-case name, MIME parts as text). */
export interface InboundMessage {
  messageId?: string;
  /** The From address, lower-case. */
  from?: string;
  subject?: string;
  /** Header values by lower-case name (the first of repeated headers), unfolded. */
  headers: Record<string, string>;
  /** Message-IDs from In-Reply-To and References, with angle brackets. */
  inReplyTo: string[];
  references: string[];
  /** The top-level Content-Type and its report-type parameter. */
  contentType?: string;
  reportType?: string;
  /** The text of a message/delivery-status (or message/global-delivery-status) part. */
  deliveryStatus?: string;
  /** The text of a message/feedback-report part (ARF). */
  feedbackReport?: string;
  /** The headers of the returned message (a message/rfc822 or text/rfc822-headers part). */
  originalHeaders?: string;
  /** The plain text body, for bounces that are not RFC 3464 (the first few KB are enough). */
  text?: string;
}

export type InboundVerdict =
  | { kind: 'reply'; messageIds: string[] }
  | { kind: 'auto_reply'; messageIds: string[]; why: string }
  | { kind: 'bounce'; bounce: 'hard' | 'soft'; status: string; recipient?: string; diagnostic?: string; messageIds: string[] }
  | { kind: 'complaint'; feedbackType: string; recipient?: string; messageIds: string[] }
  | { kind: 'unsubscribe'; token: string }
  | { kind: 'other'; reason: string };

const MESSAGE_ID = /<[^<>\s]+@[^<>\s]+>/g;

/** Message-IDs named in a header value ("<a@b> <c@d>"), in order, without repeats. */
export function messageIdsIn(value: string | undefined): string[] {
  return [...new Set((value ?? '').match(MESSAGE_ID) ?? [])];
}

/**
 * RFC 822-style field blocks (RFC 3464's per-message and per-recipient fields, RFC 5965's
 * report fields): folded lines joined, names lower-case; blocks split at blank lines.
 */
export function parseFieldBlocks(text: string): Record<string, string>[] {
  const blocks: Record<string, string>[] = [];
  for (const chunk of text.replace(/\r\n/g, '\n').split(/\n[ \t]*\n/)) {
    const fields: Record<string, string> = {};
    let last: string | undefined;
    for (const line of chunk.split('\n')) {
      if (/^[ \t]/.test(line) && last) fields[last] += ` ${line.trim()}`;
      else {
        const m = /^([\w-]+)\s*:\s*(.*)$/.exec(line);
        if (!m) continue;
        last = m[1].toLowerCase();
        fields[last] ??= m[2].trim();
      }
    }
    if (Object.keys(fields).length) blocks.push(fields);
  }
  return blocks;
}

/** "rfc822; Ada@Example.com" → "ada@example.com". */
const addressOf = (field: string | undefined) => {
  const v = field?.includes(';') ? field.slice(field.indexOf(';') + 1) : field;
  const a = v?.trim().replace(/^<|>$/g, '').toLowerCase();
  return a || undefined;
};

/** The Message-ID header of a returned message's headers. */
function originalMessageIds(m: InboundMessage): string[] {
  const fromHeaders = (text: string | undefined) => {
    const block = parseFieldBlocks((text ?? '').split(/\r?\n\r?\n/)[0])[0] ?? {};
    return messageIdsIn(block['message-id']);
  };
  const ids = fromHeaders(m.originalHeaders);
  if (ids.length) return ids;
  // bounces that quote the original headers in their text ("Message-ID: <…>" on a line of its own)
  const quoted = [...(m.text ?? '').matchAll(/^[ \t>]*message-id:\s*(<[^<>\s]+@[^<>\s]+>)/gim)].map((x) => x[1]);
  return [...new Set([...quoted, ...m.inReplyTo, ...m.references])];
}

const BOUNCE_SENDER = /^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@/i;
const BOUNCE_SUBJECT = /undeliver|delivery (status notification|failure|has failed)|returned mail|failure notice|mail delivery (failed|system)|non-?delivery|could not be delivered|delivery problem/i;
/** An RFC 3463 status code in a bounce's text. */
const STATUS_CODE = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/;

/** Subjects of automatic replies, in the languages B2B mail most often meets, after any "Re:"/"AW:". */
const AUTO_SUBJECT = new RegExp(
  '^(?:(?:re|aw|sv|vs|antw|r|rif|wg|fw|fwd|tr)\\s*:\\s*)*(?:' + [
    'auto(?:matic|matische|matique)?[ -]?(?:reply|response|antwort|réponse|respuesta|risposta|svar)',
    'automatische antwort', 'réponse automatique', 'respuesta automática', 'risposta automatica', 'resposta automática',
    'out of (?:the )?office', 'ooo\\b', 'abwesenheit', 'absence', 'absent', 'fuera de la oficina', 'fuori ufficio', 'ausente',
    'afwezig', 'frånvaro', 'poza biurem', 'on (?:vacation|holiday|leave|annual leave|parental leave)', 'vacation reply',
    'i am (?:currently )?(?:out|away)', 'away from (?:the office|my desk)', 'autoreply', 'autosvar',
  ].join('|') + ')',
  'i',
);

/** Why a message is an automatic reply, or undefined for a person's. */
export function autoReplyReason(m: InboundMessage): string | undefined {
  const h = m.headers;
  const auto = h['auto-submitted']?.toLowerCase();
  if (auto && auto !== 'no') return `Auto-Submitted: ${auto}`; // RFC 3834
  for (const name of ['x-autoreply', 'x-autorespond', 'x-autoresponse', 'x-autoresponder']) if (h[name] !== undefined) return name;
  const precedence = (h.precedence ?? h['x-precedence'] ?? '').toLowerCase();
  if (['auto_reply', 'bulk', 'junk', 'list'].includes(precedence)) return `Precedence: ${precedence}`;
  // RFC 3834 asks automatic responses to use the null return path; people's replies never do
  if (h['return-path']?.trim() === '<>') return 'null Return-Path';
  if (m.subject && AUTO_SUBJECT.test(m.subject.trim())) return 'subject';
  return undefined;
}

/**
 * Classifies one message. The Message-IDs it returns are candidates: the caller counts the
 * message only when one of them is the whole Message-ID of a send of ours (and, for replies,
 * that send went to the reply's sender).
 */
export function classifyInbound(m: InboundMessage): InboundVerdict {
  const report = m.reportType?.toLowerCase();
  const isReport = m.contentType?.toLowerCase() === 'multipart/report';

  // RFC 3464 delivery status notification
  if ((isReport && (report === 'delivery-status' || report === 'global-delivery-status')) || m.deliveryStatus) {
    const blocks = parseFieldBlocks(m.deliveryStatus ?? '');
    const recipients = blocks.filter((b) => b['final-recipient'] || b['original-recipient'] || b.action || b.status);
    // our messages have one recipient: the first that failed or was delayed is the one
    const failed = recipients.find((b) => /^(failed|delayed)/i.test(b.action ?? '') || /^[45]\./.test(b.status ?? ''));
    if (!failed) return { kind: 'other', reason: recipients.length ? 'delivery report without a failure (delivered, relayed or expanded)' : 'delivery report without recipient fields' };
    const status = STATUS_CODE.exec(failed.status ?? '')?.[0] ?? (/^delayed/i.test(failed.action ?? '') ? '4.0.0' : '5.0.0');
    return {
      kind: 'bounce',
      bounce: status.startsWith('5') ? 'hard' : 'soft',
      status,
      recipient: addressOf(failed['final-recipient'] ?? failed['original-recipient']),
      diagnostic: failed['diagnostic-code']?.slice(0, 2000),
      messageIds: originalMessageIds(m),
    };
  }

  // RFC 5965 abuse report (a feedback loop: the recipient pressed "spam")
  if ((isReport && report === 'feedback-report') || m.feedbackReport) {
    const fields = parseFieldBlocks(m.feedbackReport ?? '')[0] ?? {};
    const feedbackType = (fields['feedback-type'] ?? 'abuse').toLowerCase();
    if (feedbackType !== 'abuse' && feedbackType !== 'fraud') return { kind: 'other', reason: `feedback report of type ${feedbackType}` };
    return { kind: 'complaint', feedbackType, recipient: addressOf(fields['original-rcpt-to']), messageIds: originalMessageIds(m) };
  }

  // A bounce that is not RFC 3464 (old qmail, some gateways): from the mailer daemon, with an
  // RFC 3463 status code in its text and our Message-ID quoted in it.
  if (BOUNCE_SENDER.test(m.from ?? '') || (m.headers['return-path']?.trim() === '<>' && BOUNCE_SUBJECT.test(m.subject ?? ''))) {
    const code = STATUS_CODE.exec(m.text ?? '');
    if (code && code[1] !== '2') {
      return { kind: 'bounce', bounce: code[1] === '5' ? 'hard' : 'soft', status: code[0], messageIds: originalMessageIds(m) };
    }
    if (BOUNCE_SUBJECT.test(m.subject ?? '')) return { kind: 'other', reason: 'bounce without a status code' };
  }

  // RFC 2369 mailto unsubscribe: the List-Unsubscribe header's subject, "unsubscribe <token>"
  const unsubscribe = /^\s*unsubscribe\s+([\w-]+\.[\w-]+)\s*$/i.exec(m.subject ?? '');
  if (unsubscribe) return { kind: 'unsubscribe', token: unsubscribe[1] };

  const messageIds = [...new Set([...m.inReplyTo, ...m.references])];
  if (!messageIds.length) return { kind: 'other', reason: 'no In-Reply-To or References' };
  const why = autoReplyReason(m);
  if (why) return { kind: 'auto_reply', messageIds, why };
  return { kind: 'reply', messageIds };
}
