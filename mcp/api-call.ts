// How every MCP tool acts: a call to the REST API in-process (app.inject) with the caller's API key,
// so validation, scopes, rate limits and queries are exactly the API's.
import type { FastifyInstance } from 'fastify';

export interface ApiCall {
  (method: 'GET' | 'POST', url: string, body?: unknown): Promise<{ statusCode: number; body: any }>;
}

/** Calls the REST API in-process with a given Authorization header. */
export function injectingApi(app: FastifyInstance, authorization: string): ApiCall {
  return async (method, url, body) => {
    const res = await app.inject({ method, url, headers: { authorization }, ...(body === undefined ? {} : { payload: body as object }) });
    let parsed: unknown;
    try {
      parsed = res.json();
    } catch {
      parsed = { message: res.body };
    }
    return { statusCode: res.statusCode, body: parsed };
  };
}
