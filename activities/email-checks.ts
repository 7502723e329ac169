import validator from 'validator';
import { createRequire } from 'node:module';
import type { MxResolver } from '../clients/mx';

const disposable = new Set<string>(createRequire(import.meta.url)('disposable-email-domains') as string[]);

export function normalizeEmail(raw: string): string {
  return raw.trim().toLowerCase();
}

/**
 * Why an already-normalized email cannot be promoted, or null when it can.
 * DNS only ever rejects on a definite answer ("no MX"); errors and timeouts pass.
 */
export async function emailRejection(email: string, mx?: MxResolver): Promise<string | null> {
  if (!validator.isEmail(email, { allow_utf8_local_part: true, require_tld: true })) return 'invalid_email_syntax';
  const domain = email.slice(email.lastIndexOf('@') + 1);
  if (disposable.has(domain)) return 'disposable_domain';
  if (mx && (await mx.check(domain)) === 'no_mx') return 'no_mx_record';
  return null;
}
