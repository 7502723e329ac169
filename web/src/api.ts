// The API client: the session cookie (POST /api/session) carries auth; writes add X-CSRF-Token.
export interface Session { name: string; scopes: string[]; expiresAt: string; csrfToken: string }

export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly body: any) {
    super(message);
  }
  /** Field → message from the API's validation details (details.issues[{field,message}]). */
  get fieldErrors(): Record<string, string> {
    const issues = this.body?.details?.issues;
    const out: Record<string, string> = {};
    if (Array.isArray(issues)) for (const i of issues) if (i && typeof i.field === 'string') out[i.field.replace(/^body\./, '')] = String(i.message ?? 'invalid');
    return out;
  }
}

let csrfToken: string | null = null;
/**
 * Only when the API has no session endpoint (an API older than sessions): the key, held in this
 * tab's memory (never in storage) and sent as a Bearer token. With sessions the key is never kept.
 */
let bearerKey: string | null = null;
let onUnauthorized: () => void = () => {};
export const setUnauthorizedHandler = (fn: () => void) => { onUnauthorized = fn; };
/** The header a cookie-authenticated write must carry. */
export const csrfHeaders = (): Record<string, string> => ({
  ...(csrfToken ? { 'x-csrf-token': csrfToken } : {}),
  ...(bearerKey ? { authorization: `Bearer ${bearerKey}` } : {}),
});
export const setSessionToken = (s: Session | null) => { csrfToken = s?.csrfToken ?? null; };

export interface Response2<T> { data: T; headers: Headers }

export async function request<T>(method: string, url: string, opts: { body?: unknown; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Response2<T>> {
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['x-csrf-token'] = csrfToken;
  if (bearerKey) headers.authorization = `Bearer ${bearerKey}`;
  const res = await fetch(url, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), credentials: 'same-origin', signal: opts.signal });
  const text = await res.text();
  let data: any = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!res.ok) {
    if (res.status === 401 && !url.startsWith('/api/session')) onUnauthorized();
    const message = (data && typeof data === 'object' && typeof data.message === 'string') ? data.message : `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, message, data);
  }
  return { data: data as T, headers: res.headers };
}

export const get = async <T>(url: string, signal?: AbortSignal) => (await request<T>('GET', url, { signal })).data;

export async function signIn(apiKey: string): Promise<Session> {
  try {
    const { data } = await request<Session>('POST', '/api/session', { body: { apiKey } });
    setSessionToken(data);
    return data;
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
  }
  // no session endpoint: check the key on a read and keep it for this tab only
  bearerKey = apiKey;
  try {
    await request('GET', '/api/campaigns?limit=1');
  } catch (err) {
    bearerKey = null;
    throw err instanceof ApiError && err.status === 401 ? new ApiError(401, 'that API key is not valid (unknown, revoked or expired)', err.body) : err;
  }
  return { name: 'API key', scopes: [], expiresAt: '', csrfToken: '' };
}
export async function currentSession(): Promise<Session | null> {
  try {
    const { data } = await request<Session>('GET', '/api/session');
    setSessionToken(data);
    return data;
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 404)) return null;
    throw err;
  }
}
export async function signOut() {
  if (!bearerKey) await request('DELETE', '/api/session').catch(() => undefined);
  bearerKey = null;
  setSessionToken(null);
}

export const qs = (params: Record<string, string | number | undefined | null>) => {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
};

export interface Contact {
  contact_id: number; email: string; first_name: string | null; last_name: string | null; full_name: string | null;
  title: string | null; company_name: string | null; company_domain: string | null; phone: string | null;
  linkedin_url: string | null; city: string | null; state: string | null; country: string | null;
  source: string; status: string; score: number; version: number; created_at: string; updated_at: string;
}
export interface ContactPage { data: Contact[]; next_cursor: string | null; total?: number; total_capped?: boolean }
