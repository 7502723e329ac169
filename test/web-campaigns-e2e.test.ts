// The campaign screens end to end: Debian's Chromium (playwright-core, nothing downloaded) on the
// built web/dist against the real stack (Postgres, Temporal, worker, SMTP sink, provider fakes).
// Create a campaign in the editor (live template preview for a chosen contact, strict-variable and
// criteria errors inline, live audience count), start it to the sink, pause and resume it, follow a
// funnel number into the outreach grid and filter it by event, schedule it, read its report and
// export it, and run an enrichment. axe: 0 serious or critical violations on every view;
// screenshots to docs/screenshots with UPDATE_SCREENSHOTS=1.
import { mkdtempSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { chromium, type Browser, type Page } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import { simpleParser } from 'mailparser';
import { seedContacts, startCampaignStack, waitUntil, type CampaignStack } from './support/campaign-fixtures';
import { bearer, testConfig } from './support/harness';
import { startWebServer, type WebServer } from './support/web-server';
import { PROFILE_ACTOR, providerEnv } from './support/enrich-stack';
import { startApolloFake, type ApolloFake } from './fakes/apollo';
import { startApifyFake, type ApifyFake } from './fakes/apify';
import { createProviderWorkers, providerDepsFromConfig } from '../worker/provider-workers';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const shots = process.env.UPDATE_SCREENSHOTS === '1' ? path.resolve('docs/screenshots') : mkdtempSync(path.join(tmpdir(), 'barton-shots-'));
const CHROME_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

let stack: CampaignStack;
let web: WebServer;
let browser: Browser;
let page: Page;
let apiKey: string;
let apollo: ApolloFake;
let apify: ApifyFake;
let providerConnection: NativeConnection;
let providerWorkers: Worker[] = [];
let providerRuns: Promise<void>[] = [];
let seeded: Map<string, number>;

beforeAll(async () => {
  apollo = await startApolloFake();
  apify = await startApifyFake({ actors: { [PROFILE_ACTOR]: () => ({ items: [], durationMs: 10 }) }, secondMs: 10 });
  // the provider settings without a task queue: the stack names its own
  const { TASK_QUEUE: _unused, ...env } = providerEnv(apollo, apify, 'unused');
  stack = await startCampaignStack({
    name: 'web-campaigns', config: { ...env, TEMPORAL_UI_URL: 'http://temporal-ui.test:8233' }, deps: providerDepsFromConfig(testConfig(env)),
  });
  providerConnection = await NativeConnection.connect({ address: inject('temporalAddress') });
  const config = testConfig(env);
  providerWorkers = await createProviderWorkers({
    connection: providerConnection, namespace: 'default', taskQueue: stack.taskQueue, pool: stack.db.pool, ...providerDepsFromConfig(config),
    apolloCallsPerSecond: config.APOLLO_CALLS_PER_SECOND, apifyCallsPerSecond: config.APIFY_CALLS_PER_SECOND,
  });
  providerRuns = providerWorkers.map((w) => w.run());
  await stack.app.listen({ port: 0, host: '127.0.0.1' });
  const address = stack.app.server.address();
  if (!address || typeof address === 'string') throw new Error('no API address');
  web = await startWebServer(`http://127.0.0.1:${address.port}`);
  apiKey = (await bearer(stack.db.pool, ['read', 'write'], 100_000, 'campaign-user')).authorization.slice('Bearer '.length);
  seeded = await seedContacts(stack.db.pool, 'ui-camp', [
    { email: 'cleo@ui.example', first_name: 'Cleo', company_name: 'Initech' }, { email: 'dan@ui.example', first_name: 'Dan' }, { email: 'eve@ui.example', first_name: 'Eve' },
  ]);
  await seedContacts(stack.db.pool, 'ui-other', [{ email: 'other@ui.example' }]);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, acceptDownloads: true });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  mkdirSync(shots, { recursive: true });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await web?.close();
  for (const w of providerWorkers) w.shutdown();
  await Promise.all(providerRuns);
  await providerConnection?.close();
  await stack?.close();
  await apollo?.close();
  await apify?.close();
});

async function checkA11y(view: string) {
  // the HTML preview is the sender's email in a script-less sandboxed frame: axe cannot run inside
  // it (it waits there forever) and it is not the app's markup
  const { violations } = await new AxeBuilder({ page }).exclude('iframe.preview-html').analyze();
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.map((v) => `${view}: ${v.id} (${v.impact}) ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
}
const shoot = (name: string, fullPage = false) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage });
const text = async (testId: string) => (await page.getByTestId(testId).textContent())?.trim();

let campaignId: number;

describe('campaign screens', () => {
  it('signs in', async () => {
    await page.goto(`${web.url}/campaigns`);
    await page.getByLabel('API key').fill(apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Campaigns' }).waitFor();
    await page.getByText('No campaigns yet.').waitFor();
  }, 180_000);

  it('creates a campaign: live preview for a chosen contact, strict-variable and criteria errors inline, live audience count', async () => {
    await page.getByRole('link', { name: 'New campaign' }).click();
    await page.getByRole('heading', { name: 'New campaign' }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('Autumn launch');
    await page.getByLabel('From email').fill('sales@sender.example');

    const step1 = page.getByRole('group', { name: 'Step 1' });
    await step1.getByLabel('Subject').fill('Hi {{ contact.first_name }}');
    await step1.getByLabel('Text body').fill('How is {{ contact.company_name }} doing?');
    await step1.getByLabel('HTML body').fill('<p>How is {{ contact.company_name }} doing?</p>');
    // a sample contact until one is chosen
    await waitUntil(async () => (await text('preview-subject-1')) === 'Hi Alexandra', 15_000, 'sample preview');
    await page.getByLabel('Find a contact to preview').fill('cleo');
    await waitUntil(async () => (await text('preview-subject-1')) === 'Hi Cleo', 15_000, 'preview for Cleo');
    await step1.getByRole('region', { name: 'Preview of step 1' }).getByText('How is Initech doing?').waitFor();
    expect(await page.getByLabel('Preview contact').inputValue()).toBe(String(seeded.get('cleo@ui.example')));

    // a variable the sender does not know is named next to the field, from the API's strict check
    await step1.getByLabel('Subject').fill('Hi {{ contact.nickname }}');
    const subjectError = step1.locator('.field').filter({ has: page.getByLabel('Subject') }).locator('.error');
    await subjectError.filter({ hasText: 'unknown variable "contact.nickname"' }).waitFor();
    expect(await step1.getByLabel('Subject').getAttribute('aria-invalid')).toBe('true');
    await step1.getByLabel('Subject').fill('Hi {{ contact.first_name }}');
    await subjectError.waitFor({ state: 'detached' });

    await page.getByRole('button', { name: 'Add a step' }).click();
    const step2 = page.getByRole('group', { name: 'Step 2' });
    expect(await step2.getByRole('group', { name: 'Wait before step 2' }).getByLabel('days').inputValue()).toBe('3');
    await step2.getByLabel('Subject').fill('Following up, {{ contact.first_name }}');
    await step2.getByLabel('Text body').fill('Any thoughts?');
    await waitUntil(async () => (await text('preview-subject-2')) === 'Following up, Cleo', 15_000, 'step 2 preview');

    await page.getByLabel('Messages per minute').fill('600');
    await page.getByLabel('Only send inside a window').check();
    await page.getByRole('group', { name: 'Days' }).getByLabel('Sat').check();
    await page.getByRole('group', { name: 'Days' }).getByLabel('Sun').check();
    await page.getByLabel('From', { exact: true }).fill('00:00');
    await page.getByLabel('Until').fill('23:59');
    await page.getByLabel('Time zone').fill('Europe/Berlin');

    const count = page.getByTestId('audience-count');
    await page.getByLabel('Sources').fill('ui-camp');
    await waitUntil(async () => (await count.textContent()) === '3 matching contacts', 15_000, 'audience of 3');
    await page.getByLabel('Sources').fill('ui-camp, ui-other');
    await waitUntil(async () => (await count.textContent()) === '4 matching contacts', 15_000, 'audience of 4');
    await page.getByLabel('Minimum score').fill('101');
    await page.locator('#crit-min_score-error').filter({ hasText: /100/ }).waitFor();
    await page.getByLabel('Minimum score').fill('');
    await page.getByLabel('Sources').fill('ui-camp');
    await waitUntil(async () => (await count.textContent()) === '3 matching contacts', 15_000, 'audience of 3 again');
    await page.locator('#crit-min_score-error').waitFor({ state: 'detached' });
    await checkA11y('campaign-edit');
    await shoot('campaign-edit', true);
    await page.emulateMedia({ colorScheme: 'dark' });
    await checkA11y('campaign-edit (dark)');
    await page.emulateMedia({ colorScheme: 'light' });

    // the API's own validation lands next to its field: a bad sender address
    await page.getByLabel('From email').fill('not-an-address');
    await page.getByRole('button', { name: 'Create campaign' }).click();
    await page.locator('#c-from-email-error').waitFor();
    expect(await stack.db.pool.query(`select 1 from marketing.campaigns where name = 'Autumn launch'`).then((r) => r.rowCount)).toBe(0);
    await page.getByLabel('From email').fill('sales@sender.example');
    await page.getByRole('button', { name: 'Create campaign' }).click();
    await page.waitForURL(/\/campaigns\/\d+$/);
    campaignId = Number(new URL(page.url()).pathname.split('/').pop());
    const { rows: [k] } = await stack.db.pool.query('select criteria, rate_per_minute, time_zone, window_days from marketing.campaigns where campaign_id = $1', [campaignId]);
    expect(k).toMatchObject({ criteria: { sources: ['ui-camp'] }, rate_per_minute: 600, time_zone: 'Europe/Berlin', window_days: [1, 2, 3, 4, 5, 6, 7] });
    const { rows: steps } = await stack.db.pool.query(
      'select s.step_no, s.delay_seconds, t.subject from marketing.campaign_steps s join marketing.templates t using (template_id) where campaign_id = $1 order by step_no', [campaignId]);
    expect(steps).toEqual([
      { step_no: 1, delay_seconds: 0, subject: 'Hi {{ contact.first_name }}' },
      { step_no: 2, delay_seconds: 3 * 86_400, subject: 'Following up, {{ contact.first_name }}' },
    ]);
  }, 180_000);

  it('starts it to the SMTP sink, pauses and resumes it; a funnel number opens its outreach rows; the grid filters by event', async () => {
    await page.getByRole('heading', { name: 'Autumn launch' }).waitFor();
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await waitUntil(async () => (await text('sent-1')) === '3', 60_000, 'three sent');
    const mails = stack.sink.messages.filter((m) => m.to.some((t) => t.endsWith('@ui.example')));
    expect(mails.map((m) => m.to[0]).sort()).toEqual(['cleo@ui.example', 'dan@ui.example', 'eve@ui.example']);
    expect(mails.find((m) => m.to.includes('cleo@ui.example'))!.raw).toContain('Subject: Hi Cleo');

    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    await waitUntil(async () => (await text('campaign-status')) === 'paused', 30_000, 'paused');
    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    await waitUntil(async () => (await text('campaign-status')) === 'running', 30_000, 'resumed');

    const grid = page.getByRole('grid', { name: 'Outreach history' });
    await waitUntil(async () => (await grid.getByRole('row').count()) === 1 + 6, 15_000, 'six outreach rows (3 sent, 3 waiting)');

    // Dan opens his mail a while after it arrived
    await stack.db.pool.query(`update marketing.outreach_history set sent_at = now() - interval '10 minutes' where campaign_id = $1 and sent_at is not null`, [campaignId]);
    const dan = mails.find((m) => m.to.includes('dan@ui.example'))!;
    const pixel = new URL(/src="([^"]+\/t\/o\/[^"]+)"/.exec((await simpleParser(dan.raw)).html as string)![1]).pathname;
    expect((await stack.app.inject({ method: 'GET', url: pixel, headers: { 'user-agent': CHROME_UA } })).statusCode).toBe(200);
    await waitUntil(async () => (await text('opened-1')) === '1', 15_000, 'one opened in the funnel');
    await page.getByTestId('opened-1').getByRole('link').click();
    await waitUntil(async () => new URL(page.url()).search === '?event=opened&step=1', 5000, 'filter in the URL');
    await waitUntil(async () => (await grid.getByRole('row').count()) === 2, 15_000, 'one opened row');
    expect(await grid.getByRole('row').nth(1).textContent()).toContain('dan@ui.example');
    await page.getByRole('status').filter({ hasText: '1 row opened in step 1' }).waitFor();
    await checkA11y('campaign-outreach');
    await shoot('campaign-outreach', true);

    await page.getByLabel('Event', { exact: true }).selectOption('sent');
    await waitUntil(async () => (await grid.getByRole('row').count()) === 4, 15_000, 'three sent rows');
    await page.getByLabel('Event', { exact: true }).selectOption('replied');
    await page.getByText('No outreach rows with this filter.').waitFor();
    await page.getByLabel('Event', { exact: true }).selectOption('');
    await page.getByLabel('Step', { exact: true }).selectOption('');
    await waitUntil(async () => (await grid.getByRole('row').count()) === 7, 15_000, 'all rows again');
    // the keyboard moves through the rows; a row opens its contact
    await grid.focus();
    await page.keyboard.press('End');
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowDown');
    const activeId = await grid.getAttribute('aria-activedescendant');
    expect(activeId).toMatch(/^outreach-row-\d+$/);
    expect(await page.locator(`#${activeId}`).getAttribute('aria-rowindex')).toBe('3');
    await grid.getByRole('link', { name: 'cleo@ui.example' }).first().click();
    await page.waitForURL(new RegExp(`/contacts/${seeded.get('cleo@ui.example')}$`));
    await page.goBack();
    await page.getByRole('heading', { name: 'Autumn launch' }).waitFor();
  }, 180_000);

  it('creates and removes a schedule', async () => {
    const panel = page.getByRole('region', { name: 'Schedule' });
    await panel.getByLabel('Every (minutes)').fill('0');
    await panel.getByRole('button', { name: 'Create schedule' }).click();
    await panel.locator('#sched-every-error').waitFor();
    await panel.getByLabel('Every (minutes)').fill('1440');
    await panel.getByRole('button', { name: 'Create schedule' }).click();
    await panel.getByRole('status').filter({ hasText: 'Schedule created' }).waitFor();
    await panel.getByText(/^Next runs: .+/).waitFor();
    await panel.getByRole('button', { name: 'Suspend schedule' }).click();
    await panel.getByRole('button', { name: 'Reactivate schedule' }).waitFor();
    await checkA11y('campaign-schedule');
    await panel.getByRole('button', { name: 'Remove schedule' }).click();
    await panel.getByRole('status').filter({ hasText: 'Schedule removed' }).waitFor();
    await panel.getByRole('button', { name: 'Create schedule' }).waitFor();
  }, 180_000);

  it('shows the report with the funnel numbers and exports it as CSV', async () => {
    await page.getByRole('link', { name: 'Report', exact: true }).click();
    await page.getByRole('heading', { name: 'Report: Autumn launch' }).waitFor();
    expect(await text('report-sent-1')).toBe('3');
    expect(await text('report-delivered-1')).toBe('3');
    const people = page.getByRole('table', { name: 'People and machines' });
    expect(await people.getByRole('row', { name: /Opens/ }).getByRole('cell').first().textContent()).toBe('1');
    await checkA11y('campaign-report');
    await shoot('campaign-report', true);
    // the dark theme (the system's setting) keeps its contrast
    await page.emulateMedia({ colorScheme: 'dark' });
    await checkA11y('campaign-report (dark)');
    await shoot('campaign-report-dark');
    await page.emulateMedia({ colorScheme: 'light' });
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download report CSV' }).click()]);
    expect(download.suggestedFilename()).toBe(`campaign-${campaignId}-report.csv`);
    const csv = readFileSync(await download.path(), 'utf8');
    expect(csv.split(/\r?\n/)[0]).toBe('section,item,metric,value');
    expect(csv).toContain('funnel,step 1,sent,3');
  }, 180_000);

  it('edits a draft: loads its steps, saves a changed template as a new one, leaves the old one to campaigns sharing it', async () => {
    const shared = await stack.http.template({ name: 'shared', subject: 'Shared {{ contact.first_name }}', text_body: 'Shared body' });
    const draft = await stack.http.campaign({ name: 'Draft one', steps: [{ template_id: shared, delay: { hours: 2 } }], criteria: { sources: ['ui-camp'] } });
    await page.getByRole('link', { name: 'Campaigns', exact: true }).click();
    await page.getByRole('link', { name: 'Draft one' }).click();
    await page.getByRole('heading', { name: 'Draft one' }).waitFor();
    await page.getByRole('link', { name: 'Edit', exact: true }).click();
    await page.getByRole('heading', { name: 'Edit Draft one' }).waitFor();
    const step1 = page.getByRole('group', { name: 'Step 1' });
    expect(await step1.getByLabel('Subject').inputValue()).toBe('Shared {{ contact.first_name }}');
    expect(await step1.getByRole('group', { name: 'Wait before step 1' }).getByLabel('hours').inputValue()).toBe('2');
    await page.getByLabel('Name', { exact: true }).fill('Draft renamed');
    await step1.getByLabel('Subject').fill('Own {{ contact.first_name }}');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('heading', { name: 'Draft renamed' }).waitFor();
    const { rows: [s1] } = await stack.db.pool.query(
      'select t.template_id, t.subject, s.delay_seconds from marketing.campaign_steps s join marketing.templates t using (template_id) where s.campaign_id = $1', [draft]);
    expect(s1).toMatchObject({ subject: 'Own {{ contact.first_name }}', delay_seconds: 7200 });
    expect(s1.template_id).not.toBe(shared);
    expect((await stack.http.call('GET', `/api/templates/${shared}`)).body.subject).toBe('Shared {{ contact.first_name }}');

    // a running campaign does not change: its edit page says so
    // a running campaign does not change: it offers no Edit, and its edit address says why
    await page.getByRole('link', { name: 'Campaigns', exact: true }).click();
    await page.getByRole('link', { name: 'Autumn launch' }).click();
    await page.getByRole('heading', { name: 'Autumn launch' }).waitFor();
    expect(await page.getByRole('link', { name: 'Edit', exact: true }).count()).toBe(0);
    await page.evaluate(`history.pushState({}, '', '/campaigns/${campaignId}/edit'); dispatchEvent(new PopStateEvent('popstate'))`);
    await page.getByRole('alert').filter({ hasText: 'only draft or scheduled campaigns change' }).waitFor();
  }, 180_000);

  it('starts an enrichment for chosen contacts and lists it with its progress and outcome', async () => {
    apollo.addPerson({ id: 'ap-cleo', email: 'cleo@ui.example', first_name: 'Cleo', last_name: 'Apollo', title: 'CTO', organization: { name: 'Initech', primary_domain: 'initech.example' } });
    await page.getByRole('link', { name: 'Enrichment', exact: true }).click();
    await page.getByRole('heading', { name: 'Enrichment' }).waitFor();
    await page.getByText('No enrichment runs yet.').waitFor();
    await page.getByLabel('Contact ids').fill('x');
    await page.getByRole('button', { name: 'Start enrichment' }).click();
    await page.locator('#enrich-ids-error').waitFor();
    await page.getByLabel('Contact ids').fill(`${seeded.get('cleo@ui.example')}, ${seeded.get('dan@ui.example')}`);
    await page.getByLabel('LinkedIn (Apify)').uncheck();
    await page.getByRole('button', { name: 'Start enrichment' }).click();
    const started = page.getByRole('status').filter({ hasText: /Enrichment .+ started/ });
    await started.waitFor();
    const requestId = /Enrichment (\S+) started/.exec((await started.textContent()) ?? '')![1];
    const outcome = page.getByTestId(`enrich-outcome-${requestId}`);
    await waitUntil(async () => /^Done: \d+ written back$/.test((await outcome.textContent()) ?? ''), 60_000, 'enrichment done');
    const row = page.getByRole('table', { name: 'Enrichment runs' }).getByRole('row').filter({ hasText: requestId });
    expect(await row.textContent()).toContain('1 / 1 calls');
    const { rows: [r] } = await stack.db.pool.query('select matched from enrich.provider_calls where request_id = $1', [requestId]);
    expect(r.matched).toBe(1);
    await checkA11y('enrichment');
    await shoot('enrichment');
  }, 180_000);
});
