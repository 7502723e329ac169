// A run's bookkeeping: the audience snapshot that starts it, pause/resume, and its end.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { CampaignOutcome, StepProgress } from '../../contracts/campaign';
import { IllegalCampaignTransition, type CampaignsRepository } from '../../db/campaigns';
import { withHeartbeat } from '../heartbeat';
import { campaignClock } from './clock';

/** An illegal status move will not become legal by retrying. */
async function noRetryOnIllegalMove<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof IllegalCampaignTransition) throw ApplicationFailure.nonRetryable(err.message, err.name);
    throw err;
  }
}

/** The workflow's own moves are audited as 'campaign', with the run's workflow id. */
const workflowActor = () => ({ actor: 'campaign', workflowId: Context.current().info.workflowExecution?.workflowId });

export function createLifecycleActivities({ campaigns }: { campaigns: CampaignsRepository }) {
  return {
    /**
     * Snapshots the audience into outreach_history (one row per contact x step, set-based) and
     * marks the campaign running. Idempotent: rows already there are kept, never added twice.
     */
    async startCampaignRun({ campaignId, workflowId, asOf }: { campaignId: number; workflowId: string; asOf?: number }): Promise<{ audience: number; queued: number; steps?: StepProgress[] }> {
      const started = await withHeartbeat(() => noRetryOnIllegalMove(campaigns.startRun(campaignId, workflowId, campaignClock(asOf)())));
      switch (started.outcome) {
        case 'started':
          // the ledger before this run sends: the run's counters are the ledger's less these
          return { audience: started.audience, queued: started.queued, steps: await withHeartbeat(() => campaigns.stepProgress(campaignId)) };
        case 'not-found':
          throw ApplicationFailure.nonRetryable(`campaign ${campaignId} does not exist`, 'CampaignNotFound');
        case 'cancelled':
          // a schedule may still fire for a campaign someone cancelled: that run must not revive it
          throw ApplicationFailure.nonRetryable(`campaign ${campaignId} was cancelled`, 'CampaignCancelled');
        case 'no-steps':
          throw ApplicationFailure.nonRetryable(`campaign ${campaignId} has no steps`, 'CampaignInvalid');
        case 'invalid-criteria':
          throw ApplicationFailure.nonRetryable(started.reason, 'CampaignInvalid');
      }
    },

    /** Pause and resume as the workflow sees them; a campaign that has ended meanwhile stays as it is. */
    async setCampaignStatus({ campaignId, status }: { campaignId: number; status: 'running' | 'paused' }): Promise<void> {
      await withHeartbeat(() => noRetryOnIllegalMove(campaigns.transition(campaignId, status, ['running', 'paused'], workflowActor())));
    },

    /** Closes the run: cancelled leaves nothing queued; completed writes the feedback report. */
    async finishCampaign({ campaignId, outcome }: { campaignId: number; outcome: CampaignOutcome }): Promise<StepProgress[]> {
      return withHeartbeat(async () => {
        await noRetryOnIllegalMove(campaigns.finishRun(campaignId, outcome, workflowActor()));
        return campaigns.stepProgress(campaignId);
      });
    },
  };
}
