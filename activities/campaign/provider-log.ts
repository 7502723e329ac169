import { heartbeat, sleep } from '@temporalio/activity';
import type { SentMessageLog } from '../../clients/email-events';
import type { ClaimedRow } from '../../db/outreach';

// Lookups in flight at once against the provider's API.
const LOOKUP_LANES = 8;

/**
 * Rows an earlier attempt claimed and never confirmed: the server may have accepted them just
 * before that attempt died. Each is looked up in the provider's log (once the log has caught
 * up): found means sent, not found means it never went out. A failed lookup leaves it unsettled.
 */
export async function lookUpInSentLog(
  log: SentMessageLog,
  rows: ClaimedRow[],
  messageIdOf: (outreachId: number) => string,
  settledAt: number,
): Promise<{ accepted: number[]; unsettled: number[] }> {
  for (let wait = settledAt - Date.now(); wait > 0; wait = settledAt - Date.now()) {
    await sleep(Math.min(wait, 1000));
    heartbeat();
  }
  const accepted: number[] = [];
  const unsettled: number[] = [];
  const queue = rows.slice();
  const lane = async () => {
    for (let row = queue.shift(); row; row = queue.shift()) {
      try {
        if (await log.wasAccepted(messageIdOf(row.outreach_id), row.email)) accepted.push(row.outreach_id);
      } catch {
        unsettled.push(row.outreach_id);
      }
    }
  };
  await Promise.all(Array.from({ length: LOOKUP_LANES }, lane));
  return { accepted, unsettled };
}
