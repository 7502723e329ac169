// Keeps the outbox's dispatcher running and awake: starts it with the worker (signal-with-start:
// a running one is only signalled) and signals it whenever emitted events commit (LISTEN on the
// outbox's channel), so deliveries go out within moments instead of at the dispatcher's next poll.
import type { Client } from '@temporalio/client';
import type { Pool } from '../db/pool';
import { listenForWebhookEvents } from '../db/webhooks';
import { workflowIds, workflowTypes } from '../contracts/ids';
import { wakeWebhookDispatchSignal, type WebhookDispatchInput } from '../contracts/webhooks';

export function startWebhookDispatch(opts: { client: Client; pool: Pool; taskQueue: string; input: WebhookDispatchInput; log?: (msg: string) => void }): () => Promise<void> {
  const log = opts.log ?? ((msg) => console.error(msg));
  let inFlight: Promise<void> | undefined;
  let again = false;
  // one signal at a time; notifications arriving meanwhile make one more
  const wake = () => {
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = opts.client.workflow
      .signalWithStart(workflowTypes.webhookDispatch, {
        workflowId: workflowIds.webhookDispatch(opts.taskQueue),
        taskQueue: opts.taskQueue,
        args: [opts.input],
        signal: wakeWebhookDispatchSignal,
      })
      .then(
        () => undefined,
        (err: Error) => log(`webhook dispatcher: could not signal (${err.message}); its poll picks the events up`),
      )
      .finally(() => {
        inFlight = undefined;
        if (again) {
          again = false;
          wake();
        }
      });
  };
  const stopListening = listenForWebhookEvents(opts.pool, wake, log);
  return async () => {
    await stopListening();
    again = false;
    await inFlight;
  };
}
