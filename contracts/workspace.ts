// How a workspace (tenant) travels through Temporal: a `workspace-id` header on every workflow
// start, activity, child and continue-as-new (clients/workspace-interceptor.ts,
// workflows/interceptors.ts, worker/worker.ts), and the WorkspaceId search attribute so runs can be
// listed by workspace and a start without the header (a schedule made before, a bare client)
// still finds its workspace. Pure: the workflow sandbox imports it.
import { defaultPayloadConverter, type Headers, type SearchAttributePair, type SearchAttributes, type TypedSearchAttributes } from '@temporalio/common';
import { searchAttributes } from './search-attributes';

/** The workspace every deployment has (auth.workspaces id 1): single-tenant use, and work started before workspaces. */
export const DEFAULT_WORKSPACE_ID = 1;

export const WORKSPACE_HEADER = 'workspace-id';

export const isWorkspaceId = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 1;

/** headers plus the workspace header. */
export function withWorkspaceHeader(headers: Headers, workspaceId: number): Headers {
  return { ...headers, [WORKSPACE_HEADER]: defaultPayloadConverter.toPayload(workspaceId) };
}

/** The header's workspace; undefined without one. A header that is not a workspace id throws: never guess a tenant. */
export function workspaceFromHeaders(headers: Headers): number | undefined {
  const payload = headers[WORKSPACE_HEADER];
  if (!payload) return undefined;
  const id = defaultPayloadConverter.fromPayload<unknown>(payload);
  if (!isWorkspaceId(id)) throw new Error(`${WORKSPACE_HEADER} header is not a workspace id: ${JSON.stringify(id)}`);
  return id;
}

/** The start's typed search attributes with WorkspaceId added, unless the caller set one (typed or not). */
export function withWorkspaceAttribute(
  typed: SearchAttributePair[] | TypedSearchAttributes | undefined,
  untyped: SearchAttributes | undefined,
  workspaceId: number,
): SearchAttributePair[] | TypedSearchAttributes | undefined {
  const key = searchAttributes.WorkspaceId;
  const pairs = Array.isArray(typed) ? typed : (typed?.getAll() ?? []);
  if (untyped?.[key.name] !== undefined || pairs.some((p) => p.key.name === key.name)) return typed;
  return [...pairs, { key, value: workspaceId }];
}
