// Templates come from API callers and render with imported contact data: they must not read files
// (include/render/layout), nor stall or flood the process (loops, output size). Refused at save
// with a 400 naming the field; a stored template that fails at send fails its messages cleanly.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkTemplate, compileTemplate, renderTemplate, TemplateRenderError } from '../common/templates';
import { uniqueId } from './support/harness';
import { result, seedContacts, startCampaignStack, type CampaignStack } from './support/campaign-fixtures';

const fileTags = {
  'include .env': '{% include ".env" %}',
  'include package.json': '{% include "package.json" %}',
  'include .git/config': '{% include ".git/config" %}',
  'include .data/tracking-secret': "{% include '.data/tracking-secret' %}",
  'include /etc/passwd': '{% include "/etc/passwd" %}',
  'include ../ path': '{% include "../../../../etc/passwd" %}',
  'include a contact field': '{% include contact.first_name %}',
  'render package.json': '{% render "package.json" %}',
  'layout package.json': '{% layout "package.json" %}{% block x %}{% endblock %}',
};
const limits = {
  'a loop of 1e9 iterations': '{% for i in (1..1000000000) %}{% endfor %}',
  'three nested loops of 1,000 each': '{% for i in (1..1000) %}{% for j in (1..1000) %}{% for k in (1..1000) %}{% endfor %}{% endfor %}{% endfor %}',
  '100 MB of output': `{% for i in (1..100000) %}${'x'.repeat(1000)}{% endfor %}`,
  '100 MB by doubling a string': `{% assign s = "${'x'.repeat(100)}" %}${'{% assign s = s | append: s %}'.repeat(20)}{{ s }}`,
  '100 MB by doubling a capture': `{% capture s %}${'x'.repeat(100)}{% endcapture %}${'{% capture s %}{{ s }}{{ s }}{% endcapture %}'.repeat(20)}{{ s | size }}`,
};
const packageJson = readFileSync(new URL('../package.json', import.meta.url), 'utf8');

describe('checkTemplate', () => {
  it.each(Object.entries({ ...fileTags, ...limits }))('refuses %s in any field, naming it', (_name, source) => {
    for (const field of ['subject', 'html', 'text_body'] as const) {
      const problems = checkTemplate({ subject: 'ok', text_body: 'ok', [field]: source });
      expect(problems.map((p) => p.field)).toEqual([field]);
    }
  });

  it('renders a stored template that would read a file as an error, never the file', () => {
    const t = compileTemplate({ subject: 'ok', html: '{% include "package.json" %}' });
    const render = () => renderTemplate(t, { contact: {}, campaign: { id: 1, name: 'c' }, unsubscribe_url: 'https://t.example/u/x' });
    expect(render).toThrow(TemplateRenderError);
    expect(render).toThrow(/^html: .*"include" is not allowed/);
  });

  it('bounds a render at send time by the contact\'s data too', () => {
    const t = compileTemplate({ subject: 'ok', text_body: '{% for i in (1..contact.score) %}x{% endfor %}' });
    const ctx = (score: number) => ({ contact: { score }, campaign: { id: 1, name: 'c' }, unsubscribe_url: 'u' });
    expect(renderTemplate(t, ctx(3)).text).toBe('xxx');
    expect(() => renderTemplate(t, ctx(1e9))).toThrow(/^text_body: memory alloc limit exceeded/);
  });

  it('still accepts ordinary templates', () => {
    expect(checkTemplate({
      subject: 'Hi {{ contact.first_name | default: "there" }}',
      html: '{% capture greeting %}Hello {{ contact.full_name }}{% endcapture %}<p>{{ greeting | escape }}</p>{% for i in (1..3) %}{{ i }}{% endfor %}<a href="{{ unsubscribe_url }}">u</a>',
      text_body: '{% if contact.score > 80 %}{{ contact.company_name | upcase }}{% endif %} {{ campaign.name }}',
    })).toEqual([]);
  });
});

describe('templates through the API', () => {
  let stack: CampaignStack;
  const count = async () => (await stack.db.pool.query('select count(*)::int as n from marketing.templates')).rows[0].n;

  beforeAll(async () => {
    stack = await startCampaignStack({ name: 'template-sandbox' });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('refuses file tags and runaway templates at save with a 400 naming the field; nothing is stored', async () => {
    const kept = await stack.http.template({ subject: 'Kept', text_body: 'kept' });
    const before = await count();
    for (const [name, source] of Object.entries({ ...fileTags, ...limits })) {
      for (const field of ['subject', 'html', 'text_body'] as const) {
        if (field === 'subject' && source.length > 998) continue; // the schema refuses those first
        const body = { name, subject: 'ok', html: '<p>ok</p>', [field]: source };
        for (const [method, url] of [['POST', '/api/templates'], ['PUT', `/api/templates/${kept}`]] as const) {
          const res = await stack.http.call(method, url, body);
          expect(res.status, `${name} in ${field} (${method})`).toBe(400);
          expect(res.body.details.issues.map((i: { field: string }) => i.field)).toEqual([field]);
          expect(res.body.message).toContain(`${field}: `);
          expect(res.raw).not.toContain('"devDependencies"');
        }
      }
    }
    expect(await count()).toBe(before);
    expect((await stack.http.call('GET', `/api/templates/${kept}`)).body).toMatchObject({ subject: 'Kept', text_body: 'kept', html: null });
  }, 60_000);

  it('never returns a file through preview, even for a template stored before file tags were refused', async () => {
    const ids = await seedContacts(stack.db.pool, uniqueId('preview'), [{ email: 'file-name@example.com', first_name: 'package.json' }]);
    const stored = async (html: string) =>
      (await stack.db.pool.query(`insert into marketing.templates (name, subject, html) values ('old', 'ok', $1) returning template_id`, [html])).rows[0].template_id;
    for (const html of [fileTags['include package.json'], fileTags['include a contact field'], fileTags['render package.json']]) {
      const res = await stack.http.call('POST', `/api/templates/${await stored(html)}/preview`, { contact_id: ids.get('file-name@example.com') });
      expect(res.status).toBe(422);
      expect(res.body.message).toMatch(/^html: .*is not allowed: templates cannot read files/);
      expect(res.raw).not.toContain('devDependencies');
      expect(packageJson).toContain('devDependencies');
    }
  });

  it('a stored template that fails at send fails its messages with the reason; the campaign ends', async () => {
    const source = uniqueId('sendlimit');
    await seedContacts(stack.db.pool, source, [{ email: 'loop-a@example.com' }, { email: 'loop-b@example.com' }]);
    const t = await stack.http.template({ subject: 'Hi', text_body: 'fine' });
    // as if saved before the limits: written straight to the table
    await stack.db.pool.query(`update marketing.templates set text_body = $2, updated_at = now() where template_id = $1`, [t, limits['a loop of 1e9 iterations']]);
    const campaignId = await stack.http.campaign({ criteria: { sources: [source] }, steps: [{ template_id: t }] });
    await result(stack.temporal, await stack.http.start(campaignId));
    const { rows } = await stack.db.pool.query('select status, failure_reason from marketing.outreach_history where campaign_id = $1', [campaignId]);
    expect(rows).toHaveLength(2);
    for (const r of rows) expect(r).toEqual({ status: 'failed', failure_reason: expect.stringMatching(/^text_body: memory alloc limit exceeded/) });
    expect(stack.sink.messages.filter((m) => m.to.includes('loop-a@example.com') || m.to.includes('loop-b@example.com'))).toEqual([]);
  });
});
