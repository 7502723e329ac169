// The API client: the session cookie (POST /api/session, HttpOnly: script never sees it) carries
// auth; writes add the session's X-CSRF-Token. The API key is sent once, to sign in, and not kept.
export interface Session { name: string; scopes: string[]; expiresAt: string; csrfToken: string }
interface SessionAnswer { name: string; scopes: string[]; expires_at: string; csrf_token: string }

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
let onUnauthorized: () => void = () => {};
export const setUnauthorizedHandler = (fn: () => void) => { onUnauthorized = fn; };
/** The header a cookie-authenticated write must carry (for requests not made through request()). */
export const csrfHeaders = (): Record<string, string> => (csrfToken ? { 'x-csrf-token': csrfToken } : {});
const setSession = (a: SessionAnswer | null): Session | null => {
  csrfToken = a?.csrf_token ?? null;
  return a && { name: a.name, scopes: a.scopes, expiresAt: a.expires_at, csrfToken: a.csrf_token };
};

export interface Response2<T> { data: T; headers: Headers }

export async function request<T>(method: string, url: string, opts: { body?: unknown; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Response2<T>> {
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['x-csrf-token'] = csrfToken;
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
  const { data } = await request<SessionAnswer>('POST', '/api/session', { body: { apiKey } });
  return setSession(data)!;
}
/** The session the browser's cookie holds, or null when signed out (or it expired). */
export async function currentSession(): Promise<Session | null> {
  try {
    return setSession((await request<SessionAnswer>('GET', '/api/session')).data);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return setSession(null);
    throw err;
  }
}
export async function signOut() {
  await request('DELETE', '/api/session').catch(() => undefined);
  setSession(null);
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
