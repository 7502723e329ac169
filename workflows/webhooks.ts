import {
  ActivityFailure,
  condition,
  continueAsNew,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  sleep,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities } from '../activities';
import { workflowIds } from '../contracts/ids';
import {
  wakeWebhookDispatchSignal,
  type WebhookDeliveryInput,
  type WebhookDeliveryResult,
  type WebhookDispatchInput,
} from '../contracts/webhooks';

const { listWebhookDeliveries, markWebhookDeliveriesDispatched, settleWebhookDelivery } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

// First attempts: up to a batch of receivers, each within its timeout; a killed worker is
// noticed by the heartbeat and the batch retried (what was delivered is skipped).
const { attemptWebhookDeliveries } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

/**
 * The outbox's dispatcher, one per task queue: makes the first attempt at every new delivery
 * (one activity per batch), hands each that failed to a retry workflow of its own
 * (webhook:<event_key>:<subscription_id>, so a delivery handed out twice — a retried look at
 * the outbox — finds its workflow already started), then sleeps until the worker's listener
 * wakes it on commit of new events, or pollMs passes.
 */
export async function webhookDispatchWorkflow(input: WebhookDispatchInput): Promise<void> {
  let woken = false;
  setHandler(wakeWebhookDispatchSignal, () => void (woken = true));
  const batchSize = input.batchSize ?? 100;
  const rounds = input.roundsPerRun ?? 100;
  const { taskQueue } = workflowInfo();
  for (let round = 0; round < rounds && !workflowInfo().continueAsNewSuggested; round++) {
    woken = false;
    const pending = await listWebhookDeliveries({ limit: batchSize });
    const toRetry = new Set(pending.length ? await attemptWebhookDeliveries({ ids: pending.map((d) => d.deliveryId) }) : []);
    if (input.retry.maximumAttempts <= 1) {
      // one attempt allowed: what failed has failed
      await Promise.all([...toRetry].map((deliveryId) => settleWebhookDelivery({ deliveryId, reason: 'the only attempt failed' })));
      toRetry.clear();
    }
    const started = await Promise.allSettled(
      pending.filter((d) => toRetry.has(d.deliveryId)).map((d) =>
        startChild(webhookDeliveryWorkflow, {
          workflowId: workflowIds.webhookDelivery(d.eventKey, d.subscriptionId),
          taskQueue,
          args: [{ deliveryId: d.deliveryId, retry: input.retry }],
          // deliveries outlive this run (it continues as new) and never block it
          parentClosePolicy: ParentClosePolicy.ABANDON,
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
        }),
      ),
    );
    for (const s of started) {
      if (s.status === 'rejected' && !(s.reason instanceof WorkflowExecutionAlreadyStartedError)) throw s.reason;
    }
    if (pending.length) await markWebhookDeliveriesDispatched({ ids: pending.map((d) => d.deliveryId) });
    if (pending.length < batchSize) await condition(() => woken, input.pollMs ?? 60_000);
  }
  await continueAsNew<typeof webhookDispatchWorkflow>(input);
}

/**
 * One event to one subscription after its first attempt failed, at least once: attempts 2, 3, …
 * after initialIntervalMs, then twice as long each time (a durable timer, then Temporal's retry
 * policy), until the receiver answers 2xx or maximumAttempts are spent in all; a destination
 * refused by policy (private address) fails at once.
 */
export async function webhookDeliveryWorkflow({ deliveryId, retry }: WebhookDeliveryInput): Promise<WebhookDeliveryResult> {
  const { deliverWebhook } = proxyActivities<Activities>({
    startToCloseTimeout: '1 minute',
    retry: {
      initialInterval: Math.min(retry.initialIntervalMs * 2, retry.maximumIntervalMs),
      backoffCoefficient: 2,
      maximumInterval: retry.maximumIntervalMs,
      maximumAttempts: Math.max(1, retry.maximumAttempts - 1),
      nonRetryableErrorTypes: ['WebhookDestinationRefused', 'WebhookDeliveryNotFound'],
    },
  });
  await sleep(retry.initialIntervalMs);
  try {
    return { deliveryId, ...(await deliverWebhook({ deliveryId })) };
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const attempts = await settleWebhookDelivery({ deliveryId, reason: err.cause?.message ?? err.message });
    return { deliveryId, status: 'failed', attempts };
  }
}
