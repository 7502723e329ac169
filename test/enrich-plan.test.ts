// Unit tests: the enrichment round planner and provider answers as enrichment records them (no DB).
import { describe, expect, it } from 'vitest';
import { budgetExhausted, planRound, type RoundBudget, type RoundCandidate } from '../common/enrich-plan';
import { apifyAnswerFields, apifyProfileKey, apolloAnswerFields, linkedinKey } from '../common/enrich-answers';
import { mapRecord } from '../common/source-mappings';
import { parseWaterfall } from '../contracts/enrich';

const open: RoundBudget = { creditBudget: null, creditsReserved: 0, budgetHit: false };
const sizes = { apollo: 10, apify: 25 };
const person = (contactId: number, p: Partial<RoundCandidate> = {}): RoundCandidate => ({ contactId, linkedinUrl: null, results: {}, asked: [], ...p });
const li = 'https://www.linkedin.com/in/ada';

describe('enrichment round planner', () => {
  it('asks, per field, the first provider of its waterfall order', () => {
    const waterfall = parseWaterfall('title:apify>apollo,first_name:apollo>apify');
    expect(planRound({ waterfall, budget: open, candidates: [person(1, { linkedinUrl: li })] }, sizes)).toEqual({ apollo: [[1]], apify: [[1]] });
    // the title alone: LinkedIn first
    expect(planRound({ waterfall: parseWaterfall('title:apify>apollo'), budget: open, candidates: [person(1, { linkedinUrl: li })] }, sizes))
      .toEqual({ apollo: [], apify: [[1]] });
  });

  it('Apify needs a LinkedIn URL: the contact\'s own or one found earlier in the request', () => {
    const waterfall = parseWaterfall('title:apify>apollo');
    expect(planRound({ waterfall, budget: open, candidates: [person(1)] }, sizes)).toEqual({ apollo: [[1]], apify: [] });
    const found = person(2, { asked: ['apollo'], results: { apollo: { linkedin_url: li, first_name: 'Ada' } } });
    expect(planRound({ waterfall, budget: open, candidates: [found] }, sizes)).toEqual({ apollo: [], apify: [[2]] });
  });

  it('does not ask a provider already asked about the person; the next in order is asked instead', () => {
    const waterfall = parseWaterfall('title:apollo>apify,city:apollo');
    const asked = person(1, { linkedinUrl: li, asked: ['apollo'] });
    expect(planRound({ waterfall, budget: open, candidates: [asked] }, sizes)).toEqual({ apollo: [], apify: [[1]] });
    const everyone = person(2, { linkedinUrl: li, asked: ['apollo', 'apify'] });
    expect(planRound({ waterfall, budget: open, candidates: [everyone] }, sizes)).toEqual({ apollo: [], apify: [] });
  });

  it('fields already filled in the request drop out', () => {
    const waterfall = parseWaterfall('profile:apify,title:apollo>apify,city:apollo');
    const filled = person(1, { linkedinUrl: li, asked: ['apify'], results: { apify: { profile: true, title: 'CTO' } } });
    expect(planRound({ waterfall, budget: open, candidates: [filled] }, sizes)).toEqual({ apollo: [[1]], apify: [] }); // city is left
    const done = person(2, { linkedinUrl: li, asked: ['apify'], results: { apify: { profile: true, title: 'CTO' }, apollo: { city: 'Berlin' } } });
    expect(planRound({ waterfall, budget: open, candidates: [done] }, sizes)).toEqual({ apollo: [], apify: [] });
  });

  it('stops once the budget is spent or a call was skipped for it', () => {
    const waterfall = parseWaterfall('title:apollo');
    const candidates = [person(1), person(2)];
    expect(planRound({ waterfall, budget: { creditBudget: 10, creditsReserved: 9, budgetHit: false }, candidates }, sizes)).toEqual({ apollo: [[1, 2]], apify: [] });
    for (const budget of [{ creditBudget: 10, creditsReserved: 10, budgetHit: false }, { creditBudget: null, creditsReserved: 3, budgetHit: true }]) {
      expect(budgetExhausted(budget)).toBe(true);
      expect(planRound({ waterfall, budget, candidates }, sizes)).toEqual({ apollo: [], apify: [] });
    }
    expect(budgetExhausted(open)).toBe(false);
  });

  it('splits each provider\'s people into calls of its size, in candidate order', () => {
    const candidates = Array.from({ length: 23 }, (_, i) => person(i + 1));
    const plan = planRound({ waterfall: parseWaterfall('title:apollo'), budget: open, candidates }, sizes);
    expect(plan.apollo.map((c) => c.length)).toEqual([10, 10, 3]);
    expect(plan.apollo.flat()).toEqual(candidates.map((c) => c.contactId));
  });
});

describe('provider answers', () => {
  it('an Apollo person: the waterfall\'s contact fields, trimmed, not normalized', () => {
    const p = {
      id: 'p1', first_name: ' ADA ', last_name: 'Lovelace', title: 'CTO', linkedin_url: 'https://www.linkedin.com/in/Ada/', email: 'ada@x.io',
      city: 'London', state: '', country: 'UK', organization: { name: 'Engines', primary_domain: 'engines.example', industry: 'x' },
    };
    expect(apolloAnswerFields(p)).toEqual({
      first_name: 'ADA', last_name: 'Lovelace', title: 'CTO', linkedin_url: 'https://www.linkedin.com/in/Ada/',
      company_name: 'Engines', company_domain: 'engines.example', city: 'London', country: 'UK',
    });
  });

  it('an Apify profile: the same field rules as staging, its URL not an answer, the profile marked', () => {
    const item = { linkedinUrl: 'https://www.linkedin.com/in/Alan/', firstName: 'Alan', occupation: 'Researcher at NPL', headline: 'Maths', companyName: 'NPL', addressLocality: 'London', addressCountry: 'UK' };
    expect(apifyAnswerFields(item)).toEqual({ first_name: 'Alan', title: 'Researcher at NPL', company_name: 'NPL', city: 'London', country: 'UK', profile: true });
    expect(mapRecord('apify_linkedin', item)).toMatchObject({ title: 'Researcher at NPL', city: 'London', country: 'UK' });
    expect(apifyAnswerFields({ headline: 'Maths' })).toEqual({ title: 'Maths', profile: true });
    expect(apifyProfileKey(item)).toBe('alan');
    expect(apifyProfileKey({ profileUrl: 'linkedin.com/in/grace?x=1' })).toBe('grace');
    expect(linkedinKey('https://example.com/in/x')).toBeUndefined();
  });
});
