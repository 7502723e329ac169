// Webhook signatures, Stripe's scheme: `Barton-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256
// of "<t>.<raw body>" under the subscription's secret>`. The timestamp is signed, so a receiver
// that refuses old timestamps cannot be replayed an old delivery.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'barton-signature';

/** A new subscription secret: 192 random bits. */
export const newWebhookSecret = () => `whsec_${randomBytes(24).toString('base64url')}`;

export function signatureHeader(secret: string, body: string, timestampSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex');
  return `t=${timestampSeconds},v1=${mac}`;
}

/**
 * A receiver's check (README, "Webhooks"): the header's v1 equals the HMAC of "<t>.<raw body>"
 * and t is within toleranceSeconds of now.
 */
export function verifySignature(secret: string, body: string, header: string, { toleranceSeconds = 300, nowSeconds = Math.floor(Date.now() / 1000) } = {}): boolean {
  const parts = Object.fromEntries(header.split(',').map((p) => p.trim().split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || !parts.v1 || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`).digest('hex'));
  const given = Buffer.from(parts.v1);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
