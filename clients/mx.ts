import { promises as dns } from 'node:dns';

/** What DNS says of a mail domain. Anything short of a definite "no such domain/no MX" is "unknown". */
export type MxVerdict = 'has_mx' | 'no_mx' | 'unknown';

export interface MxResolver {
  check(domain: string): Promise<MxVerdict>;
}

/** Asks DNS. ENOTFOUND is what an offline resolver answers too, so it is "unknown", never "invalid". */
export function dnsMxResolver(resolveMx: (domain: string) => Promise<{ exchange: string }[]> = dns.resolveMx): MxResolver {
  const cache = new Map<string, Promise<MxVerdict>>();
  return {
    check(domain) {
      let verdict = cache.get(domain);
      if (!verdict) {
        verdict = resolveMx(domain).then(
          (records) => (records.some((r) => r.exchange && r.exchange !== '.') ? 'has_mx' : 'no_mx'),
          (err: NodeJS.ErrnoException) => (err.code === 'ENODATA' ? 'no_mx' : 'unknown'),
        );
        cache.set(domain, verdict);
      }
      return verdict;
    },
  };
}
