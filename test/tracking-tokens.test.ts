// Tracking links: signatures verified against their one canonical encoding, and links long enough
// for real target URLs (Fastify's default path-parameter limit of 100 answered them with 414).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import { signTrackingToken, verifyTrackingToken } from '../common/tracking-tokens';
import { bearer, uniqueId } from './support/harness';
import { result, seedContacts, startCampaignStack, waitUntil, type CampaignStack } from './support/campaign-fixtures';

const SECRET = 'unit-tracking-secret-0123456789';

describe('verifyTrackingToken', () => {
  const token = signTrackingToken(SECRET, { purpose: 'unsubscribe', outreachId: 42 });

  it('accepts the token as signed', () => {
    expect(verifyTrackingToken(SECRET, token, 'unsubscribe')).toEqual({ purpose: 'unsubscribe', outreachId: 42, url: undefined });
  });

  it('refuses a token with anything appended or changed, even where the signature bytes decode the same', () => {
    const [body, sig] = token.split('.');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // 16 bytes take 22 characters; the last one's low 4 bits are padding a lenient decoder ignores
    const last = alphabet[alphabet.indexOf(sig.at(-1)!) ^ 1];
    const sameBytes = `${sig.slice(0, -1)}${last}`;
    expect(Buffer.from(sameBytes, 'base64url')).toEqual(Buffer.from(sig, 'base64url'));
    for (const bad of [`${token}=`, `${token}==`, `${token}!!`, `${token} `, `${token}.`, `${token}A`, `${body}=.${sig}`, `${body}.${sameBytes}`, `${body}.${sig.slice(0, -1)}`, `.${sig}`, body]) {
      expect(verifyTrackingToken(SECRET, bad, 'unsubscribe'), bad).toBeUndefined();
    }
    expect(verifyTrackingToken('another-secret-0123456789', token, 'unsubscribe')).toBeUndefined();
    expect(verifyTrackingToken(SECRET, token, 'click')).toBeUndefined();
  });
});

describe('tracking links through the API', () => {
  let stack: CampaignStack;
  const longUrl = `https://example.org/landing?${'utm_campaign=spring&'.repeat(24)}x=${'a'.repeat(500)}`.slice(0, 500);

  beforeAll(async () => {
    stack = await startCampaignStack({ name: 'tracking-tokens' });
  });
  afterAll(async () => {
    await stack?.close();
  });

  const mailTo = async (email: string, html: string) => {
    const source = uniqueId('tok');
    const ids = await seedContacts(stack.db.pool, source, [{ email }]);
    const t = await stack.http.template({ subject: 'Hi', html });
    const campaignId = await stack.http.campaign({ criteria: { sources: [source] }, steps: [{ template_id: t }] });
    await result(stack.temporal, await stack.http.start(campaignId));
    const message = await waitUntil(async () => stack.sink.messages.find((m) => m.to.includes(email)), 15_000, 'the message');
    const { rows: [outreach] } = await stack.db.pool.query('select * from marketing.outreach_history where campaign_id = $1', [campaignId]);
    return { contactId: ids.get(email)!, outreach, message, html: (await simpleParser(message.raw)).html as string };
  };
  const path = (url: string) => new URL(url).pathname;

  it('a click link to a 500-character URL redirects, and so does the click-wrapped unsubscribe link', async () => {
    expect(longUrl).toHaveLength(500);
    const { html } = await mailTo('long-link@example.com', `<p><a href="${longUrl}">offer</a> <a href="{{ unsubscribe_url }}">unsubscribe</a></p>`);
    const clicks = [...html.matchAll(/href="([^"]+\/t\/c\/[^"]+)"/g)].map((m) => m[1]);
    expect(clicks).toHaveLength(3); // the offer, the unsubscribe link and the hidden honeypot
    const offer = await stack.app.inject({ method: 'GET', url: path(clicks[0]) });
    expect(offer.statusCode).toBe(302);
    expect(offer.headers.location).toBe(longUrl);
    const unsubscribe = await stack.app.inject({ method: 'GET', url: path(clicks[1]) });
    expect(unsubscribe.statusCode).toBe(302);
    expect(unsubscribe.headers.location).toMatch(/^https:\/\/track\.example\.test\/u\//);
  });

  it('a token with "=" or "!!" appended is refused and changes nothing', async () => {
    const { contactId, outreach, message, html } = await mailTo('strict@example.com', '<p><a href="https://example.org/x">x</a></p>');
    const unsubscribe = path(/<(https:[^>]+)>/.exec(message.headers.get('list-unsubscribe') as string)![1]);
    const click = path(/href="([^"]+\/t\/c\/[^"]+)"/.exec(html)![1]);
    const pixel = path(/src="([^"]+\/t\/o\/[^"]+)"/.exec(html)![1]).replace(/\.gif$/, '');
    const status = async () => (await stack.db.pool.query('select status from vault.contacts where contact_id = $1', [contactId])).rows[0].status;
    const form = { 'content-type': 'application/x-www-form-urlencoded' };

    for (const tail of ['=', '==', '!!']) {
      const post = await stack.app.inject({ method: 'POST', url: `${unsubscribe}${tail}`, headers: form, payload: 'List-Unsubscribe=One-Click' });
      expect(post.statusCode).toBe(400);
      expect((await stack.app.inject({ method: 'GET', url: `${unsubscribe}${tail}` })).statusCode).toBe(400);
      const go = await stack.app.inject({ method: 'GET', url: `${click}${tail}` });
      expect(go.statusCode).toBe(400);
      expect(go.headers.location).toBeUndefined();
      expect((await stack.app.inject({ method: 'GET', url: `${pixel}${tail}.gif` })).statusCode).toBe(200); // the pixel answers either way
    }
    expect(await status()).toBe('active');
    const { rows: [after] } = await stack.db.pool.query('select open_count, click_count, unsubscribed_at from marketing.outreach_history where outreach_id = $1', [outreach.outreach_id]);
    expect(after).toEqual({ open_count: 0, click_count: 0, unsubscribed_at: null });
    const { rows: suppressed } = await stack.db.pool.query(`select 1 from marketing.suppressions where email = 'strict@example.com'`);
    expect(suppressed).toEqual([]);

    const post = await stack.app.inject({ method: 'POST', url: unsubscribe, headers: form, payload: 'List-Unsubscribe=One-Click' });
    expect(post.statusCode).toBe(200); // the exact token still works
    expect(await status()).toBe('unsubscribed');
  });

  it('a 128-character batch id can be fetched', async () => {
    const batchId = `b-${'x'.repeat(126)}`;
    await stack.db.pool.query(`insert into intake.batches (batch_id, source, row_count) values ($1, 'manual', 0)`, [batchId]);
    const reader = await bearer(stack.db.pool, ['read'], 1000, 'long-id-reader');
    const res = await stack.app.inject({ method: 'GET', url: `/api/ingest/${batchId}`, headers: reader });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ batch_id: batchId, row_count: 0 });
    const enrich = await stack.app.inject({ method: 'GET', url: `/api/enrich/${'e'.repeat(128)}`, headers: reader });
    expect(enrich.statusCode).toBe(404); // looked up, not refused as too long
  });

  it('a path parameter past the limit answers 414 in the API\'s error shape', async () => {
    const res = await stack.app.inject({ method: 'GET', url: `/t/c/${'0'.repeat(5000)}` });
    expect(res.statusCode).toBe(414);
    expect(Object.keys(res.json()).sort()).toEqual(['error', 'message', 'requestId']);
    expect(res.json()).toMatchObject({ error: 'URI Too Long' });
  });
});
