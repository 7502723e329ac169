// Outbound webhook POSTs to destinations our users name. A destination must not reach inside
// our network: every address a name resolves to is checked when the connection is made (a
// custom lookup on the request, so a name that re-resolves to 127.0.0.1 after it was checked —
// DNS rebinding — is refused too), IP literals are checked before connecting, redirects are
// never followed, and only https is allowed in production.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { promises as dns, type LookupAddress } from 'node:dns';
import ipaddr from 'ipaddr.js';

/** The destination is not allowed (private address, plain http in production, bad URL): never retried. */
export class DestinationRefused extends Error {
  override name = 'DestinationRefused';
}

export interface DestinationPolicy {
  /** Allow loopback/private/link-local destinations (local development and tests only; refused in production). */
  allowPrivate: boolean;
  /** Allow plain http (everywhere but production). */
  allowHttp: boolean;
}

/** Resolves a name to every address it has (dns.lookup, as a connection would). */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>;
const systemResolver: Resolver = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

/**
 * The range an address is in when it is not a public unicast one ('loopback', 'private',
 * 'linkLocal' — which holds the cloud metadata address 169.254.169.254 —, 'uniqueLocal',
 * 'carrierGradeNat', 'unspecified', …), else null. IPv4-mapped IPv6 is judged as its IPv4.
 */
export function nonPublicRange(address: string): string | null {
  if (!ipaddr.isValid(address)) return 'invalid';
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  const range = parsed.range();
  return range === 'unicast' ? null : range;
}

/** The production policy unless the caller has an allowance; an allowance never holds in production. */
export function destinationPolicy({ production, allowPrivate }: { production: boolean; allowPrivate: boolean }): DestinationPolicy {
  if (production && allowPrivate) throw new DestinationRefused('private webhook destinations cannot be allowed in production');
  return { allowPrivate, allowHttp: !production };
}

/** Checks a URL's form (scheme, no credentials) and, for an IP literal, its address. Throws DestinationRefused. */
export function checkDestinationUrl(raw: string, policy: DestinationPolicy): URL {
  if (!URL.canParse(raw)) throw new DestinationRefused('not a URL');
  const url = new URL(raw);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp)) {
    throw new DestinationRefused(policy.allowHttp ? 'must be an http or https URL' : 'must be an https URL');
  }
  if (url.username || url.password) throw new DestinationRefused('must not carry credentials');
  const host = bareHost(url);
  if (net.isIP(host)) refuseAddress(host, host, policy);
  return url;
}

/** Resolves the URL's host and refuses it when any address is not public: the check at subscription time. */
export async function checkDestination(raw: string, policy: DestinationPolicy, resolve: Resolver = systemResolver): Promise<void> {
  const url = checkDestinationUrl(raw, policy);
  const host = bareHost(url);
  if (net.isIP(host)) return;
  let addresses: LookupAddress[];
  try {
    addresses = await resolve(host);
  } catch {
    return; // not resolvable now: the connection is checked again when a delivery is made
  }
  for (const a of addresses) refuseAddress(host, a.address, policy);
}

export interface WebhookResponse {
  status: number;
}

/**
 * POSTs body to url with headers; resolves with the receiver's status (3xx included: never
 * followed). Rejects with DestinationRefused for a destination the policy forbids, with the
 * network's error otherwise.
 */
export async function postWebhook(
  raw: string,
  body: string,
  headers: Record<string, string>,
  { policy, timeoutMs = 10_000, resolve = systemResolver }: { policy: DestinationPolicy; timeoutMs?: number; resolve?: Resolver },
): Promise<WebhookResponse> {
  const url = checkDestinationUrl(raw, policy);
  const lookup: net.LookupFunction = (hostname, options, callback) => {
    resolve(hostname).then(
      (addresses) => {
        try {
          if (!addresses.length) throw Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' });
          for (const a of addresses) refuseAddress(hostname, a.address, policy);
        } catch (err) {
          callback(err as NodeJS.ErrnoException, '', 0);
          return;
        }
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0].address, addresses[0].family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolvePost, reject) => {
    const request = transport.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'barton-outreach-webhooks/1', ...headers },
      lookup,
      // no keep-alive pool: each attempt connects (and is checked) anew
      agent: false,
      timeout: timeoutMs,
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', reject);
    request.on('response', (response) => {
      response.resume(); // the body is not read: the status is the answer
      response.on('end', () => resolvePost({ status: response.statusCode ?? 0 }));
      response.on('error', reject);
    });
    request.end(body);
  });
}

function bareHost(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

function refuseAddress(host: string, address: string, policy: DestinationPolicy): void {
  if (policy.allowPrivate) return;
  const range = nonPublicRange(address);
  if (range) throw new DestinationRefused(host === address ? `${address} is a ${range} address` : `${host} resolves to ${address}, a ${range} address`);
}
