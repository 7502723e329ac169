// Typed errors for outside-world HTTP providers. The activity layer maps them to Temporal
// failures: rate-limited → retry after the provider's delay; rejected/unexpected → do not retry;
// unavailable → retry with backoff.
import type { z } from 'zod';

export type ProviderName = 'apollo' | 'apify' | 'mailgun';

export abstract class ProviderError extends Error {
  abstract readonly retryable: boolean;
  constructor(
    readonly provider: ProviderName,
    message: string,
    readonly status?: number,
  ) {
    super(`${provider}: ${message}`);
    this.name = new.target.name;
  }
}

/** 429: the provider asked us to slow down; retryAfterMs is its own estimate (or a window's end). */
export class ProviderRateLimitedError extends ProviderError {
  readonly retryable = true;
  constructor(provider: ProviderName, message: string, readonly retryAfterMs: number | undefined) {
    super(provider, message, 429);
  }
}

/** 400/401/402/403/404/422: repeating the same request cannot succeed. */
export class ProviderRejectedError extends ProviderError {
  readonly retryable = false;
  constructor(provider: ProviderName, message: string, status: number, readonly code?: string) {
    super(provider, message, status);
  }
}

/** 5xx, 408, timeouts, connection failures: the same request may succeed later. */
export class ProviderUnavailableError extends ProviderError {
  readonly retryable = true;
}

/** A 2xx whose body is not what the contract says: a bug or an API change, not worth retrying. */
export class UnexpectedResponseError extends ProviderError {
  readonly retryable = false;
  constructor(provider: ProviderName, readonly field: string, detail: string) {
    super(provider, `unexpected response: ${field}: ${detail}`);
  }
}

/** Apollo counts credits per call; this is the running total one client instance consumed. */
export interface CreditCounter {
  credits: number;
  calls: number;
}

export interface HttpCall {
  provider: ProviderName;
  url: URL;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: unknown;
  timeoutMs: number;
}

/** fetch with a timeout; network failures and timeouts become ProviderUnavailableError. */
export async function send(call: HttpCall): Promise<Response> {
  try {
    return await fetch(call.url, {
      method: call.method,
      headers: { accept: 'application/json', ...(call.body === undefined ? {} : { 'content-type': 'application/json' }), ...call.headers },
      body: call.body === undefined ? undefined : JSON.stringify(call.body),
      signal: AbortSignal.timeout(call.timeoutMs),
    });
  } catch (err) {
    const e = err as Error;
    const what = e.name === 'TimeoutError' ? `timed out after ${call.timeoutMs} ms` : `request failed: ${e.message}`;
    throw new ProviderUnavailableError(call.provider, `${call.method} ${call.url.pathname} ${what}`);
  }
}

/** Parses a JSON body with a zod schema; a mismatch names the first offending field. */
export async function parseBody<S extends z.ZodType>(provider: ProviderName, res: Response, schema: S): Promise<z.infer<S>> {
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UnexpectedResponseError(provider, 'body', `not JSON (${res.headers.get('content-type') ?? 'no content-type'})`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UnexpectedResponseError(provider, fieldPath(issue.path), issue.message);
  }
  return parsed.data;
}

export function fieldPath(path: PropertyKey[]): string {
  return path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${String(p)}` : String(p)), '') || 'body';
}

/** Retry-After in seconds or as an HTTP date → milliseconds from now. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds * 1000));
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Reads a body for an error message without failing on non-JSON bodies. */
export async function errorText(res: Response): Promise<{ text: string; json?: any }> {
  const text = await res.text().catch(() => '');
  try {
    return { text, json: JSON.parse(text) };
  } catch {
    return { text };
  }
}
