// Small helpers shared by the provider fakes (plain node:http, so nothing hides the wire format).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRequest {
  method: string;
  url: URL;
  headers: http.IncomingHttpHeaders;
  body: any;
}

export interface FakeResponse {
  status: number;
  headers?: Record<string, string | number>;
  /** Objects are sent as JSON; strings as they are (with the given content-type). */
  body?: unknown;
  contentType?: string;
}

export async function startFakeServer(handle: (req: FakeRequest) => Promise<FakeResponse> | FakeResponse) {
  const respond = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
    }
    let out: FakeResponse;
    try {
      out = await handle({ method: req.method ?? 'GET', url: new URL(req.url ?? '/', 'http://fake'), headers: req.headers, body });
    } catch (err) {
      out = { status: 500, body: { error: String(err) } };
    }
    if (res.destroyed) return;
    const isText = typeof out.body === 'string';
    res.writeHead(out.status, {
      'content-type': out.contentType ?? (isText ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8'),
      ...Object.fromEntries(Object.entries(out.headers ?? {}).map(([k, v]) => [k, String(v)])),
    });
    res.end(out.body === undefined ? '' : isText ? (out.body as string) : JSON.stringify(out.body));
  };
  const server = http.createServer((req, res) => void respond(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fixed window counter (the providers' documented scheme): windows start at multiples of its length. */
export class FixedWindow {
  private windowStart = 0;
  used = 0;
  /** Most requests served in any one window so far. */
  maxServed = 0;
  constructor(readonly limit: number, readonly windowMs: number) {}
  private roll(now: number) {
    const start = Math.floor(now / this.windowMs) * this.windowMs;
    if (start !== this.windowStart) {
      this.windowStart = start;
      this.used = 0;
    }
  }
  /** Takes one request from the window; false when the window is exhausted. */
  take(now = Date.now()): boolean {
    this.roll(now);
    if (this.used >= this.limit) return false;
    this.used += 1;
    this.maxServed = Math.max(this.maxServed, this.used);
    return true;
  }
  left(now = Date.now()): number {
    this.roll(now);
    return this.limit - this.used;
  }
  msUntilReset(now = Date.now()): number {
    this.roll(now);
    return this.windowStart + this.windowMs - now;
  }
}
