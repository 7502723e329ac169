import { createHmac, timingSafeEqual } from 'node:crypto';

/** Mailgun's webhook signature: HMAC-SHA256 of timestamp + token with the webhook signing key, hex. */
export interface MailgunSignature {
  timestamp: string;
  token: string;
  signature: string;
}

/** A signature older (or further ahead) than this is refused: a captured request replays for no longer. */
export const SIGNATURE_MAX_AGE_S = 300;

export type SignatureVerdict = 'valid' | 'mismatch' | 'stale';

/** Whether a Mailgun signature is the signing key's for its timestamp and token, and fresh at nowMs. */
export function verifyMailgunSignature(signingKey: string, s: MailgunSignature, nowMs = Date.now()): SignatureVerdict {
  const expected = createHmac('sha256', signingKey).update(s.timestamp + s.token).digest();
  const given = Buffer.from(s.signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'mismatch';
  return Math.abs(nowMs / 1000 - Number(s.timestamp)) > SIGNATURE_MAX_AGE_S ? 'stale' : 'valid';
}

/** Signs as Mailgun does (for tests and for tools that forward events). */
export function signLikeMailgun(signingKey: string, timestamp: string, token: string): MailgunSignature {
  return { timestamp, token, signature: createHmac('sha256', signingKey).update(timestamp + token).digest('hex') };
}
