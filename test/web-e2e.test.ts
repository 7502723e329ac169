// The web app end to end: Debian's Chromium (playwright-core, nothing downloaded) on the built
// web/dist, against the real stack (Postgres, Temporal, worker, SMTP sink). Every view is checked
// with axe (0 serious or critical violations) and photographed (docs/screenshots with UPDATE_SCREENSHOTS=1).
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import { seedContacts, startCampaignStack, waitUntil, type CampaignStack } from './support/campaign-fixtures';
import { bearer } from './support/harness';
import { startWebServer, type WebServer } from './support/web-server';
import { apolloCsv, SPECIAL_ROWS } from './fixtures/apollo-export';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const shots = process.env.UPDATE_SCREENSHOTS === '1' ? path.resolve('docs/screenshots') : mkdtempSync(path.join(tmpdir(), 'barton-shots-'));

let stack: CampaignStack;
let web: WebServer;
let browser: Browser;
let page: Page;
let apiKey: string;

beforeAll(async () => {
  stack = await startCampaignStack({ name: 'web-e2e', config: { TEMPORAL_UI_URL: 'http://temporal-ui.test:8233' } });
  await stack.app.listen({ port: 0, host: '127.0.0.1' });
  const address = stack.app.server.address();
  if (!address || typeof address === 'string') throw new Error('no API address');
  web = await startWebServer(`http://127.0.0.1:${address.port}`);
  apiKey = (await bearer(stack.db.pool, ['read', 'write'], 100_000, 'web-user')).authorization.slice('Bearer '.length);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  mkdirSync(shots, { recursive: true });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await web?.close();
  await stack?.close();
});

/** axe on the current view: no serious or critical violation. */
async function checkA11y(view: string) {
  const { violations } = await new AxeBuilder({ page }).analyze();
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.map((v) => `${view}: ${v.id} (${v.impact}) ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
}
const shoot = (name: string) => page.screenshot({ path: path.join(shots, `${name}.png`) });

describe('web app', () => {
  it('signs in with an API key and shows the navigation', async () => {
    await page.goto(`${web.url}/`);
    await page.getByLabel('API key').waitFor();
    await checkA11y('sign-in');
    await shoot('sign-in');
    await page.getByLabel('API key').fill('not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toMatch(/key/i);

    await page.getByLabel('API key').fill(apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    for (const name of ['Dashboard', 'Contacts', 'Imports', 'Campaigns', 'Analytics', 'Workflows']) {
      await page.getByRole('link', { name, exact: true }).waitFor();
    }
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    // signed in by the session cookie: HttpOnly (script cannot read it), SameSite=Strict, not Secure over http to 127.0.0.1
    const cookies = await page.context().cookies();
    expect(cookies.filter((c) => c.name.endsWith('bo_session'))).toMatchObject([{ name: 'bo_session', httpOnly: true, sameSite: 'Strict', path: '/', secure: false }]);
    expect(await page.evaluate('document.cookie')).not.toContain('bo_session');
    // a reload keeps the session (nothing was held in the tab's memory)
    await page.reload();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    expect(await page.getByLabel('API key').count()).toBe(0);
    await checkA11y('dashboard');
    await shoot('dashboard');
  });

  it('uploads an Apollo CSV, recognises it, shows progress to done and promotes it', async () => {
    await page.getByRole('link', { name: 'Imports', exact: true }).click();
    await page.getByRole('heading', { name: 'Imports' }).waitFor();
    await checkA11y('imports');
    // one row promotion refuses, for the failed-rows download
    const rows = [...SPECIAL_ROWS, { 'First Name': '=Bad', 'Last Name': 'Address', Email: 'not-an-email', 'Apollo Contact Id': 'c-bad' }];
    await page.locator('input[type=file]').setInputFiles({ name: 'apollo.csv', mimeType: 'text/csv', buffer: Buffer.from(apolloCsv(rows)) });
    await page.getByText('Detected: Apollo export').waitFor();
    expect(await page.getByLabel('Field for column Person Linkedin Url').inputValue()).toBe('linkedin_url');
    await checkA11y('imports-mapping');
    await shoot('imports-mapping');
    await page.getByRole('button', { name: 'Import' }).click();
    await page.getByRole('button', { name: 'Promote' }).waitFor({ timeout: 60_000 });
    expect(await page.locator('#ingest-progress').evaluate((p) => (p as unknown as { value: number; max: number }).value === (p as unknown as { max: number }).max)).toBe(true);
    await page.getByRole('button', { name: 'Promote' }).click();
    await page.getByText(/Promotion completed/).waitFor({ timeout: 60_000 });
    const failedLink = page.getByRole('link', { name: 'Download failed rows' });
    await failedLink.waitFor();
    // the browser's own request, with the session cookie
    const failedCsv = await page.request.get(new URL((await failedLink.getAttribute('href'))!, web.url).toString());
    expect(failedCsv.status()).toBe(200);
    const [header, ...failedRows] = (await failedCsv.text()).trimEnd().split('\r\n');
    expect(header.split(',').slice(0, 3)).toEqual(['row_no', 'failure_reason', 'email']);
    expect(failedRows).toHaveLength(1);
    expect(failedRows[0]).toMatch(/^8,invalid_email_syntax,not-an-email,/);
    await checkA11y('imports-done');
    await shoot('imports');
  });

  it('shows the totals on the Dashboard: contacts, golden people and companies, campaigns running', async () => {
    await page.getByRole('link', { name: 'Dashboard', exact: true }).click();
    const { rows: [want] } = await stack.db.pool.query(`select
        (select count(*) from vault.contacts)::int as contacts,
        (select count(*) from people.master where merged_into is null)::int as people,
        (select count(*) from company.master where merged_into is null)::int as companies,
        (select count(*) from marketing.campaigns where status = 'running')::int as running`);
    expect(want.contacts).toBe(SPECIAL_ROWS.length);
    expect(want.people).toBeGreaterThan(0);
    expect(want.companies).toBeGreaterThan(0);
    const shown = async (id: string) => (await page.getByTestId(`total-${id}`).textContent())?.replace(/\D/g, '');
    await waitUntil(async () => (await shown('contacts')) === String(want.contacts), 15_000, 'the contacts total');
    expect(await shown('golden-people')).toBe(String(want.people));
    expect(await shown('golden-companies')).toBe(String(want.companies));
    expect(await shown('campaigns-running')).toBe(String(want.running));
  });

  it('finds a contact by a word of its name as you type and opens it', async () => {
    await page.getByRole('link', { name: 'Contacts', exact: true }).click();
    await page.getByRole('grid').waitFor();
    await checkA11y('contacts');
    await shoot('contacts');
    await page.getByRole('searchbox', { name: 'Search contacts' }).pressSequentially('lovelace');
    await waitUntil(async () => (await page.getByRole('grid').getByRole('row').count()) === 2, 15_000, 'one matching row');
    const row = page.getByRole('grid').getByRole('row').nth(1);
    expect(await row.textContent()).toContain('ada.lovelace');
    await row.getByRole('link').click();
    await page.waitForURL(/\/contacts\/\d+$/);
    await page.getByRole('heading', { name: /Ada Lovelace/ }).waitFor();
    // each golden field says which source won it, in words, not as the raw field_sources object
    const golden = page.locator('.card', { has: page.getByRole('heading', { name: 'Golden person' }) });
    await golden.getByText(/^from apollo, /).first().waitFor();
    expect(await golden.textContent()).not.toContain('slot_id');
    await checkA11y('contact-detail');
    await shoot('contact-detail');
  });

  it('edits a field, then handles a concurrent edit (412): shows what changed and re-applies', async () => {
    const id = Number(new URL(page.url()).pathname.split('/').pop());
    await page.getByLabel('Title', { exact: true }).fill('Chief Technology Officer');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor();

    await page.getByLabel('City', { exact: true }).fill('Cambridge');
    // someone else saves meanwhile
    const current = await stack.app.inject({ method: 'GET', url: `/api/contacts/${id}`, headers: { authorization: `Bearer ${apiKey}` } });
    const theirs = await stack.app.inject({
      method: 'PATCH', url: `/api/contacts/${id}`, headers: { authorization: `Bearer ${apiKey}`, 'if-match': String(current.headers.etag) }, payload: { city: 'Oxford' },
    });
    expect(theirs.statusCode).toBe(200);
    await page.getByRole('button', { name: 'Save' }).click();
    const conflict = page.getByRole('alert').filter({ hasText: 'changed this contact' });
    await conflict.waitFor();
    expect(await conflict.textContent()).toContain('Oxford');
    expect(await conflict.textContent()).toContain('Cambridge');
    await checkA11y('contact-conflict');
    await shoot('contact-conflict');
    await page.getByRole('button', { name: 'Re-apply my changes' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
    const after = JSON.parse((await stack.app.inject({ method: 'GET', url: `/api/contacts/${id}`, headers: { authorization: `Bearer ${apiKey}` } })).body);
    expect(after).toMatchObject({ title: 'Chief Technology Officer', city: 'Cambridge' });
  });

  it('shows API validation messages next to the field and stores nothing', async () => {
    const id = Number(new URL(page.url()).pathname.split('/').pop());
    await page.getByLabel('Phone', { exact: true }).fill('x'.repeat(80));
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('#e-phone').waitFor();
    const after = JSON.parse((await stack.app.inject({ method: 'GET', url: `/api/contacts/${id}`, headers: { authorization: `Bearer ${apiKey}` } })).body);
    expect(after.phone).not.toBe('x'.repeat(80));
  });

  it('merges a duplicate person and a duplicate company into the contact\'s golden records', async () => {
    const id = Number(new URL(page.url()).pathname.split('/').pop());
    // the same Ada from another source, under another email and company: a second person and company
    const headers = { authorization: `Bearer ${apiKey}` };
    const batch = `dup-${Date.now()}`;
    const staged = await stack.app.inject({ method: 'POST', url: '/api/ingest?wait=true', headers, payload: {
      source: 'dup-source', batch_id: batch,
      rows: [{ email: 'ada@analytical.example', first_name: 'Ada', last_name: 'Lovelace', company_name: 'Analytical Engines', company_domain: 'analytical.example' }],
    } });
    expect(staged.statusCode).toBe(200);
    expect((await stack.app.inject({ method: 'POST', url: '/api/promote?wait=true', headers, payload: { batch_id: batch } })).statusCode).toBe(200);
    const golden = async (email: string) => (await stack.db.pool.query(
      `select p.person_id, k.company_id
         from vault.contacts c join people.slot s using (contact_id) join people.master p using (person_id) left join company.master k on k.company_id = p.company_id
        where c.email = $1 limit 1`, [email])).rows[0];
    const ada = await golden('ada.lovelace+conf@acme.com');
    const dup = await golden('ada@analytical.example');
    expect(dup.person_id).not.toBe(ada.person_id);
    expect(dup.company_id).not.toBe(ada.company_id);

    await page.getByText('Merge a duplicate person').click();
    await page.getByLabel('Find duplicate person').fill('lovelace');
    await page.getByRole('search', { name: 'Find a duplicate person' }).getByRole('button', { name: 'Search' }).click();
    await page.getByRole('button', { name: 'Pick Ada Lovelace <ada@analytical.example>' }).click();
    await page.getByRole('button', { name: 'Merge into this person' }).click();
    await page.getByRole('status').filter({ hasText: `Merged person ${dup.person_id}` }).waitFor();
    const { rows: [person] } = await stack.db.pool.query('select merged_into from people.master where person_id = $1', [dup.person_id]);
    expect(person.merged_into).toBe(ada.person_id);
    // the duplicate's contact now resolves to the survivor
    expect((await golden('ada@analytical.example')).person_id).toBe(ada.person_id);
    // the golden person now lists the duplicate's source
    await page.getByRole('cell', { name: 'dup-source' }).first().waitFor();

    await page.getByText('Merge a duplicate company').click();
    await page.getByLabel('Find duplicate company').fill('Analytical');
    await page.getByRole('search', { name: 'Find a duplicate company' }).getByRole('button', { name: 'Search' }).click();
    await page.getByRole('button', { name: 'Pick Analytical Engines (analytical.example)' }).click();
    await page.getByRole('button', { name: 'Merge into this company' }).click();
    await page.getByRole('status').filter({ hasText: `Merged company ${dup.company_id}` }).waitFor();
    const { rows: [company] } = await stack.db.pool.query('select merged_into from company.master where company_id = $1', [dup.company_id]);
    expect(company.merged_into).toBe(ada.company_id);
    await checkA11y('contact-merge');
    await shoot('contact-merge');
    expect(Number(new URL(page.url()).pathname.split('/').pop())).toBe(id);
  });

  it('keeps at most ~150 rows in the DOM and scrolls to the end of a long list', async () => {
    const source = 'bulk-web';
    await seedContacts(stack.db.pool, source, Array.from({ length: 3000 }, (_, i) => ({ email: `bulk${String(i).padStart(5, '0')}@scroll.example`, first_name: 'Bulk' })));
    await page.getByRole('link', { name: 'Contacts', exact: true }).click();
    await page.getByRole('searchbox', { name: 'Search contacts' }).fill('');
    await page.getByLabel('Source').fill(source);
    await page.getByLabel('Sort').selectOption('last_name');
    await page.getByRole('grid').waitFor();
    const body = page.locator('.grid-body');
    for (let i = 0; i < 60; i++) {
      await body.evaluate((el) => { el.scrollTop = el.scrollHeight; });
      await page.waitForTimeout(50);
      const done = await page.getByText('3,000 loaded.').count();
      expect(await page.getByRole('grid').getByRole('row').count()).toBeLessThanOrEqual(150);
      if (done) break;
    }
    await page.getByText('3,000 loaded.').waitFor();
    await body.evaluate((el) => { el.scrollTop = el.scrollHeight; });
    const emails = await page.getByRole('grid').getByRole('row').allTextContents();
    expect(emails.some((t) => t.includes('@scroll.example'))).toBe(true);
    expect(await page.locator('.grid-body > div').evaluate((el) => el.getBoundingClientRect().height)).toBeLessThanOrEqual(1_000_000);
    // the keyboard moves through the grid
    await page.getByRole('grid').focus();
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowDown');
    expect(await page.getByRole('grid').getAttribute('aria-activedescendant')).toMatch(/^contact-row-\d+$/);

    // select all matching: the server counts the filter (not the loaded rows) and suppresses them
    await page.getByRole('searchbox', { name: 'Search contacts' }).fill('bulk00');
    await page.locator('[role=grid][data-q="bulk00"]').waitFor();
    await page.getByRole('button', { name: 'Select all matching' }).click();
    await page.getByText('All 1,000 matching contacts selected.').waitFor();
    await checkA11y('contacts-bulk');
    await page.getByRole('group', { name: 'Bulk action' }).getByLabel('Action').selectOption('suppress');
    await page.getByRole('button', { name: 'Suppress 1,000' }).click();
    await page.getByText('Suppress: 1,000 of 1,000 matching contacts.').waitFor();
    const { rows: [s] } = await stack.db.pool.query(`select count(*)::int as n from marketing.suppressions where email like 'bulk00%@scroll.example'`);
    expect(s.n).toBe(1000);
    await page.getByRole('button', { name: 'Clear selection' }).click();
    // later steps read the suppression list's first page
    await stack.db.pool.query(`delete from marketing.suppressions where email like 'bulk00%@scroll.example'`);
  });

  it('starts, pauses and resumes a campaign to the SMTP sink; its funnel numbers move; its workflow links to the Temporal UI', async () => {
    const seeded = await seedContacts(stack.db.pool, 'camp-web', [{ email: 'c1@camp.example', first_name: 'Cleo' }, { email: 'c2@camp.example' }, { email: 'c3@camp.example' }]);
    const template = await stack.http.template({ subject: 'Hi {{ contact.first_name }}', text_body: 'Hello from Barton' });
    const campaignId = await stack.http.campaign({ name: 'Web launch', steps: [{ template_id: template }, { template_id: template, delay: { days: 3 } }], criteria: { sources: ['camp-web'] }, rate_per_minute: 600 });
    await page.getByRole('link', { name: 'Campaigns', exact: true }).click();
    await page.getByRole('link', { name: 'Web launch' }).click();
    await page.waitForURL(new RegExp(`/campaigns/${campaignId}$`));
    await page.getByLabel('Contact id').fill(String(seeded.get('c1@camp.example')));
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.getByRole('region', { name: 'Preview' }).getByText('Subject: Hi Cleo').waitFor();
    await checkA11y('campaign-detail');
    await page.getByRole('button', { name: 'Start' }).click();
    await waitUntil(async () => (await page.getByTestId('sent-1').textContent()) === '3', 60_000, 'three sent in the funnel');
    expect(stack.sink.messages.filter((m) => m.to.some((t) => t.endsWith('@camp.example')))).toHaveLength(3);
    await shoot('campaign-detail');

    // step 2 waits three days: the run is still going, so it pauses and resumes
    expect(await page.getByTestId('campaign-status').textContent()).toBe('running');
    await page.getByRole('button', { name: 'Pause' }).click();
    await waitUntil(async () => (await page.getByTestId('campaign-status').textContent()) === 'paused', 30_000, 'paused');
    await page.getByRole('button', { name: 'Resume' }).click();
    await waitUntil(async () => (await page.getByTestId('campaign-status').textContent()) !== 'paused', 30_000, 'resumed');

    await page.getByRole('link', { name: 'Campaigns', exact: true }).click();
    await page.getByRole('table').waitFor();
    await checkA11y('campaigns');
    await shoot('campaigns');

    await page.getByRole('link', { name: 'Workflows', exact: true }).click();
    const link = page.getByRole('link', { name: `Open campaign:${campaignId} in Temporal UI` });
    await link.waitFor();
    expect(await link.getAttribute('href')).toMatch(new RegExp(`^http://temporal-ui\\.test:8233/namespaces/default/workflows/campaign(:|%3A)${campaignId}(/|$)`));
    await checkA11y('workflows');
    await shoot('workflows');

    await page.getByRole('link', { name: 'Analytics', exact: true }).click();
    await page.getByRole('heading', { name: 'Analytics' }).waitFor();
    await checkA11y('analytics');
    await shoot('analytics');
  });

  it('suppresses an address from Settings and lists it; says why keys are not listed for a non-admin key', async () => {
    await page.getByRole('link', { name: 'Settings', exact: true }).click();
    await page.getByRole('heading', { name: 'Settings' }).waitFor();
    await page.getByRole('alert').filter({ hasText: 'admin' }).waitFor();
    await page.getByLabel('Email to suppress').fill('stop@camp.example');
    await page.getByRole('button', { name: 'Suppress' }).click();
    await page.getByRole('status').filter({ hasText: 'Suppressed stop@camp.example' }).waitFor();
    await page.getByRole('table', { name: 'Suppressions' }).getByText('stop@camp.example').waitFor();
    const { rows } = await stack.db.pool.query("select count(*)::int as n from marketing.suppressions where email = 'stop@camp.example'");
    expect(rows[0].n).toBe(1);
    await checkA11y('settings');
    await shoot('settings');
  });

  it('signs out: the session is revoked, the cookie cleared, and a reload asks for the key again', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    expect((await page.context().cookies()).filter((c) => c.name.endsWith('bo_session'))).toEqual([]);
    const { rows } = await stack.db.pool.query(`select s.revoked_at from auth.sessions s join auth.api_keys k using (key_id) where k.name = 'web-user'`);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.revoked_at instanceof Date)).toBe(true);
    await page.reload();
    await page.getByLabel('API key').waitFor();
  });
});

// keep the temp dir's name visible when a screenshot is wanted from a CI log
if (process.env.UPDATE_SCREENSHOTS !== '1') writeFileSync(path.join(shots, 'README.txt'), 'screenshots of the last web-e2e run\n');
