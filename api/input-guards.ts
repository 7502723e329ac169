import type { FastifyInstance, FastifyRequest } from 'fastify';
import { fieldName, HttpError } from './errors';

/** Deeper JSON than any request needs; a 10,000-level body used to end in a server error. */
export const MAX_JSON_DEPTH = 64;

export interface InputProblem {
  field: string;
  message: string;
}

const NUL_MESSAGE = 'must not contain the NUL character (\\u0000)';
/** A field name as the client can read it (a NUL in a key is spelled out). */
const readable = (path: PropertyKey[]) => fieldName(path.map((p) => (typeof p === 'string' ? p.replaceAll('\0', '\\u0000') : p))) || 'body';

/** True when nothing in value is nested deeper than MAX_JSON_DEPTH (recursion is bounded by it). */
function withinDepth(value: unknown, depth = 0): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (depth >= MAX_JSON_DEPTH) return false;
  if (Array.isArray(value)) return value.every((v) => withinDepth(v, depth + 1));
  for (const key in value) if (!withinDepth((value as Record<string, unknown>)[key], depth + 1)) return false;
  return true;
}

/**
 * The first thing in a parsed JSON body that Postgres or the process would fail on later: a NUL
 * character in a string or key (text and jsonb refuse \u0000), or nesting deeper than
 * MAX_JSON_DEPTH. `text` is the raw body: without a \u0000 escape there is no NUL to look for,
 * so a large body costs one bounded-depth walk.
 */
export function jsonBodyProblem(value: unknown, text: string): InputProblem | undefined {
  const mayHaveNul = text.includes('\\u0000');
  if (!mayHaveNul && withinDepth(value)) return undefined;
  // the slow walk, with paths: iterative, so no nesting can overflow the stack
  const stack: { value: unknown; path: PropertyKey[] }[] = [{ value, path: [] }];
  while (stack.length) {
    const { value: v, path } = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\0')) return { field: readable(path), message: NUL_MESSAGE };
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (path.length >= MAX_JSON_DEPTH) return { field: readable(path), message: `JSON nested deeper than ${MAX_JSON_DEPTH} levels` };
    const entries: [PropertyKey, unknown][] = Array.isArray(v) ? v.map((item, i) => [i, item]) : Object.entries(v);
    // pushed in reverse, so the first problem in document order is found first
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, item] = entries[i];
      if (typeof key === 'string' && key.includes('\0')) return { field: readable([...path, key]), message: NUL_MESSAGE };
      stack.push({ value: item, path: [...path, key] });
    }
  }
  return undefined;
}

function badRequest(problem: InputProblem): HttpError {
  return new HttpError(400, `invalid ${problem.field}`, { issues: [problem], total: 1 });
}

/** The first validated query or path value with a NUL character (Postgres refuses it in text). */
function parameterProblem(request: FastifyRequest): InputProblem | undefined {
  const schema = request.routeOptions.schema;
  const parts = [schema?.params ? request.params : undefined, schema?.querystring ? request.query : undefined];
  for (const values of parts) {
    if (!values || typeof values !== 'object') continue;
    for (const [name, value] of Object.entries(values)) {
      const texts = Array.isArray(value) ? value : [value];
      if (texts.some((t) => typeof t === 'string' && t.includes('\0'))) return { field: readable([name]), message: NUL_MESSAGE };
    }
  }
  return undefined;
}

/**
 * Bad input answered with 400 naming the field before any handler (or Postgres) sees it: JSON
 * bodies too deep or with a NUL character anywhere, and query or path parameters with a NUL.
 */
export function registerInputGuards(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error'); // prototype poisoning refused as before
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, text, done) => {
    void parseJson(request, text as string, (err, value) => {
      if (err) return done(err, undefined);
      const problem = jsonBodyProblem(value, text as string);
      return problem ? done(badRequest(problem), undefined) : done(null, value);
    });
  });
  // after validation: the values handlers will use (unknown parameters are already dropped)
  app.addHook('preHandler', async (request) => {
    const problem = parameterProblem(request);
    if (problem) throw badRequest(problem);
  });
}
