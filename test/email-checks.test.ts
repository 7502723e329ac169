import { describe, expect, it } from 'vitest';
import { emailRejection, normalizeEmail } from '../activities/email-checks';
import { dnsMxResolver } from '../clients/mx';

const dnsError = (code: string) => Object.assign(new Error(code), { code });

describe('email checks', () => {
  it('normalizes case and surrounding space only', () => {
    expect(normalizeEmail('  Ada.Lovelace+Work@Example.COM ')).toBe('ada.lovelace+work@example.com');
  });

  it('rejects bad syntax and disposable domains, accepts the rest', async () => {
    expect(await emailRejection('ada@example')).toBe('invalid_email_syntax');
    expect(await emailRejection('ada@@example.com')).toBe('invalid_email_syntax');
    expect(await emailRejection('throwaway@mailinator.com')).toBe('disposable_domain');
    expect(await emailRejection('ada+crm@example.com')).toBeNull();
    expect(await emailRejection('josé@exämple.de')).toBeNull();
  });

  it('lets DNS reject only on a definite "no MX", never on an error', async () => {
    const answers: Record<string, () => Promise<{ exchange: string }[]>> = {
      'mail.example': async () => [{ exchange: 'mx1.mail.example' }],
      'nomx.example': async () => Promise.reject(dnsError('ENODATA')),
      'nullmx.example': async () => [{ exchange: '' }],
      'offline.example': async () => Promise.reject(dnsError('ENOTFOUND')),
      'slow.example': async () => Promise.reject(dnsError('ETIMEOUT')),
    };
    let lookups = 0;
    const mx = dnsMxResolver((domain) => {
      lookups++;
      return answers[domain]();
    });
    expect(await emailRejection('a@mail.example', mx)).toBeNull();
    expect(await emailRejection('a@nomx.example', mx)).toBe('no_mx_record');
    expect(await emailRejection('a@nullmx.example', mx)).toBe('no_mx_record');
    expect(await emailRejection('a@offline.example', mx)).toBeNull();
    expect(await emailRejection('a@slow.example', mx)).toBeNull();
    await emailRejection('b@mail.example', mx);
    expect(lookups).toBe(5); // one lookup per domain
  });
});
