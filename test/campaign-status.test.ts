// A campaign's status has one writer, marketing.f_transition_campaign: the lifecycle's moves
// succeed, a precondition that does not hold changes nothing, anything else is refused.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { testDatabase, type TestDatabase } from './support/harness';
import { createCampaignsRepository, IllegalCampaignTransition, type CampaignsRepository } from '../db/campaigns';
import { createTemplatesRepository } from '../db/templates';

let db: TestDatabase;
let campaigns: CampaignsRepository;
let templateId: number;
const ctx = { actor: 'status-test' };

beforeAll(async () => {
  db = await testDatabase();
  campaigns = createCampaignsRepository(db.pool);
  templateId = (await createTemplatesRepository(db.pool).create({ name: 't', subject: 's', text_body: 'x' }, ctx)).template_id;
});

afterAll(async () => {
  await db?.drop();
});

const newCampaign = () => campaigns.create({ name: 'status', from_email: 'a@sender.example', criteria: { sources: ['none'] } }, [{ template_id: templateId, delay_seconds: 0 }], ctx);

it('moves through the lifecycle and refuses what it does not allow', async () => {
  const id = await newCampaign();
  await expect(campaigns.transition(id, 'paused', undefined, ctx)).rejects.toThrow(IllegalCampaignTransition);
  await expect(campaigns.transition(id, 'completed', undefined, ctx)).rejects.toThrow(/campaign \d+ is draft: it cannot become completed/);
  expect(await campaigns.transition(id, 'scheduled', ['draft'], ctx)).toBe(true);
  expect(await campaigns.transition(id, 'draft', ['scheduled'], ctx)).toBe(true);
  // a precondition that does not hold changes nothing and raises nothing
  expect(await campaigns.transition(id, 'paused', ['running'], ctx)).toBe(false);
  expect(await campaigns.status(id)).toBe('draft');

  expect(await campaigns.startRun(id, `campaign:${id}`, new Date())).toMatchObject({ outcome: 'started' });
  expect(await campaigns.status(id)).toBe('running');
  expect(await campaigns.latestRun(id)).toEqual({ workflowId: `campaign:${id}` });
  expect(await campaigns.transition(id, 'paused', ['running'], ctx)).toBe(true);
  expect(await campaigns.transition(id, 'paused', undefined, ctx)).toBe(true); // staying put is allowed
  await expect(campaigns.transition(id, 'draft', undefined, ctx)).rejects.toThrow(IllegalCampaignTransition);
  expect(await campaigns.transition(id, 'cancelled', undefined, ctx)).toBe(true);
  await campaigns.finishRun(id, 'cancelled', ctx);
  expect(await campaigns.status(id)).toBe('cancelled');

  // a cancelled campaign never runs again
  expect(await campaigns.startRun(id, `campaign:${id}`, new Date())).toEqual({ outcome: 'cancelled' });
  await expect(campaigns.transition(id, 'running', undefined, ctx)).rejects.toThrow(/is cancelled: it cannot become running/);
  expect(await campaigns.transition(id, 'paused', ['running', 'paused'], ctx)).toBe(false);
  expect(await campaigns.status(id)).toBe('cancelled');
});

it('a missing campaign moves nowhere', async () => {
  expect(await campaigns.transition(2 ** 40, 'running', undefined, ctx)).toBe(false);
  expect(await campaigns.startRun(2 ** 40, 'campaign:x', new Date())).toEqual({ outcome: 'not-found' });
});
