import { heartbeat } from '@temporalio/activity';

/** Heartbeats while a long statement runs, so a dead worker is noticed by its heartbeat timeout. */
export async function withHeartbeat<T>(fn: () => Promise<T>, everyMs = 2000): Promise<T> {
  heartbeat();
  const timer = setInterval(() => heartbeat(), everyMs);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}
