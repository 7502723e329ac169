// The workspace a piece of work runs for: set once where the work enters (an API request's key,
// a Temporal activity's header, a CLI's --workspace) and read where it meets Postgres, where
// every transaction sets app.workspace_id from it (db/pool.ts) for the row-level security
// policies. Async-local, so concurrent requests and activities in one process never mix.
import { AsyncLocalStorage } from 'node:async_hooks';

// Defined in contracts/ so the workflow sandbox can use it without this module's node import.
export { DEFAULT_WORKSPACE_ID } from '../contracts/workspace';

/** Mutable so a hook that runs before authentication can open the scope and auth fill it in. */
interface WorkspaceScope {
  workspaceId?: number;
}

const storage = new AsyncLocalStorage<WorkspaceScope>();

/** Runs fn with workspaceId as the current workspace (for everything fn awaits or starts). */
export function inWorkspace<T>(workspaceId: number, fn: () => T): T {
  if (!Number.isSafeInteger(workspaceId) || workspaceId < 1) throw new Error(`not a workspace id: ${workspaceId}`);
  return storage.run({ workspaceId }, fn);
}

/** Opens a scope whose workspace is not known yet (an API request before its key is checked). */
export function inOpenScope<T>(fn: () => T): T {
  return storage.run({}, fn);
}

/** Fills in the open scope's workspace; throws outside one, or when the scope already has another. */
export function enterWorkspace(workspaceId: number): void {
  const scope = storage.getStore();
  if (!scope) throw new Error('enterWorkspace outside a scope (inOpenScope)');
  if (scope.workspaceId !== undefined && scope.workspaceId !== workspaceId) {
    throw new Error(`this scope is workspace ${scope.workspaceId}, not ${workspaceId}`);
  }
  scope.workspaceId = workspaceId;
}

/** The current workspace, or undefined outside any: then Postgres sees none and the policies show no rows. */
export function currentWorkspace(): number | undefined {
  return storage.getStore()?.workspaceId;
}
