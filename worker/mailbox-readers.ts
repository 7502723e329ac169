// One mailbox reader workflow per sending identity in IMAP_URL (workflows/mailbox.ts), started
// when a worker starts. Idempotent: a reader already running is left as it is, so any number of
// workers may start at once. Only the identity goes into the workflow; the credentials stay in
// the worker's configuration.
import type { Client } from '@temporalio/client';
import type { Config } from '../common/config';
import { workflowIds, workflowTypes } from '../contracts/ids';
import type { MailboxInput } from '../contracts/mailbox';

export async function ensureMailboxReaders(client: Client, config: Pick<Config, 'IMAP_URL' | 'IMAP_POLL_SECONDS' | 'TASK_QUEUE'>): Promise<string[]> {
  const started: string[] = [];
  for (const m of config.IMAP_URL) {
    const args: [MailboxInput] = [{ mailbox: m.identity, pollSeconds: config.IMAP_POLL_SECONDS }];
    const handle = await client.workflow.start(workflowTypes.mailbox, {
      workflowId: workflowIds.mailbox(config.TASK_QUEUE, m.identity),
      taskQueue: config.TASK_QUEUE,
      args,
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    started.push(handle.workflowId);
  }
  return started;
}
