// Signed tokens in tracking links. Not imported by workflows (uses node:crypto).
import { createHmac, timingSafeEqual } from 'node:crypto';

export type TrackingPurpose = 'open' | 'click' | 'unsubscribe';

export interface TrackingClaims {
  purpose: TrackingPurpose;
  outreachId: number;
  /** click only: where the link goes. */
  url?: string;
  /** click only: the hidden link every HTML message carries; nobody who reads the message can see it. */
  honeypot?: boolean;
}

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64url');
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const mac = (secret: string, body: string) => createHmac('sha256', secret).update(body).digest().subarray(0, 16);

/** token = base64url(json) "." base64url(hmac-sha256 truncated to 128 bits). */
export function signTrackingToken(secret: string, claims: TrackingClaims): string {
  // a honeypot link carries a fourth element; other tokens keep the three they always had
  const parts: unknown[] = [claims.purpose[0], claims.outreachId, claims.url ?? null];
  if (claims.honeypot) parts.push(1);
  const body = b64(JSON.stringify(parts));
  return `${body}.${b64(mac(secret, body))}`;
}

/** The claims of a well-signed token for `purpose`; undefined for anything else (unsigned, tampered, other purpose). */
export function verifyTrackingToken(secret: string, token: string, purpose: TrackingPurpose): TrackingClaims | undefined {
  const dot = token.indexOf('.');
  if (dot <= 0) return undefined;
  const body = token.slice(0, dot);
  if (!BASE64URL.test(body)) return undefined;
  // Compared as text against the one canonical encoding: Node's base64url decoder skips padding and
  // stray characters, so comparing decoded bytes accepted a signature with "=" or "!!" appended.
  const given = Buffer.from(token.slice(dot + 1), 'utf8');
  const expected = Buffer.from(b64(mac(secret, body)), 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const [p, outreachId, url, honeypot] = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    if (p !== purpose[0] || !Number.isSafeInteger(outreachId)) return undefined;
    if (purpose === 'click' && (typeof url !== 'string' || !/^https?:\/\//i.test(url))) return undefined;
    return { purpose, outreachId, url: url ?? undefined, ...(honeypot === 1 && purpose === 'click' ? { honeypot: true } : {}) };
  } catch {
    return undefined;
  }
}
