// Unit tests: normalization and source mappings on messy real-world values.
import { describe, expect, it } from 'vitest';
import {
  canonicalLinkedIn,
  companyDomainFromEmail,
  emailMatchKey,
  nameCase,
  normalizeEmail,
  normalizeName,
  normalizePhone,
  registrableDomain,
} from '../common/normalize';
import { identifies, mapRecord, payloadOf } from '../common/source-mappings';

describe('normalization', () => {
  it('emails: trimmed, lower case, mailto stripped; plus-tags only dropped from the match key', () => {
    expect(normalizeEmail('  Ada.Lovelace+News@Example.COM ')).toBe('ada.lovelace+news@example.com');
    expect(normalizeEmail('mailto:<Bob@X.io>')).toBe('bob@x.io');
    expect(normalizeEmail('   ')).toBeNull();
    expect(emailMatchKey('ada.lovelace+news@example.com')).toBe('ada.lovelace@example.com');
    expect(emailMatchKey('plain@example.com')).toBe('plain@example.com');
  });

  it('names: case fixed only when all upper/lower, "DOE, JOHN" split, unicode kept', () => {
    expect(nameCase('JOHN')).toBe('John');
    expect(nameCase("o'brien")).toBe("O'Brien");
    expect(nameCase('garcía-lópez')).toBe('García-López');
    expect(nameCase('McDonald')).toBe('McDonald');
    expect(nameCase('LUDWIG VAN BEETHOVEN')).toBe('Ludwig van Beethoven');
    expect(normalizeName({ full: 'DOE, JOHN' })).toEqual({ first_name: 'John', last_name: 'Doe', full_name: 'John Doe' });
    expect(normalizeName({ first: 'Doe, Jane' })).toEqual({ first_name: 'Jane', last_name: 'Doe', full_name: 'Jane Doe' });
    expect(normalizeName({ first: 'ZOË', last: 'ÅSTRÖM' })).toEqual({ first_name: 'Zoë', last_name: 'Åström', full_name: 'Zoë Åström' });
    expect(normalizeName({ full: '  李 小龍 ' }).full_name).toBe('李 小龍');
    expect(normalizeName({ first: '', last: ' ' })).toEqual({ first_name: null, last_name: null, full_name: null });
  });

  it('phones: E.164 with the row country as default region; junk → null', () => {
    expect(normalizePhone('(415) 555-2671')).toBe('+14155552671');
    expect(normalizePhone("'+44 20 7946 0958")).toBe('+442079460958');
    expect(normalizePhone('020 7946 0958', 'United Kingdom')).toBe('+442079460958');
    expect(normalizePhone('030 123456', 'Germany')).toBe('+4930123456');
    expect(normalizePhone('n/a')).toBeNull();
    expect(normalizePhone('12')).toBeNull();
  });

  it('domains: registrable, public-suffix aware, from URLs, hosts and emails', () => {
    expect(registrableDomain('https://www.acme.com/')).toBe('acme.com');
    expect(registrableDomain('acme.com')).toBe('acme.com');
    expect(registrableDomain('HTTP://shop.Acme.co.uk/about?utm_source=x')).toBe('acme.co.uk');
    expect(registrableDomain('ada@mail.acme.com')).toBe('acme.com');
    expect(registrableDomain('someone.github.io')).toBe('someone.github.io'); // a private suffix
    expect(registrableDomain('not a domain')).toBeNull();
    expect(companyDomainFromEmail('ada@gmail.com')).toBeNull();
    expect(companyDomainFromEmail('ada@eu.acme.com')).toBe('acme.com');
  });

  it('LinkedIn URLs: canonical, tracking params, locale and case removed', () => {
    const canonical = 'https://www.linkedin.com/in/ada-lovelace-42';
    expect(canonicalLinkedIn('https://www.linkedin.com/in/Ada-Lovelace-42/?utm_source=share&trk=abc')).toBe(canonical);
    expect(canonicalLinkedIn('linkedin.com/in/ada-lovelace-42')).toBe(canonical);
    expect(canonicalLinkedIn('http://uk.linkedin.com/in/ada-lovelace-42/en')).toBe(canonical);
    expect(canonicalLinkedIn('https://www.linkedin.com/company/acme-corp/about/')).toBe('https://www.linkedin.com/company/acme-corp');
    expect(canonicalLinkedIn('https://example.com/in/ada')).toBeNull();
    expect(canonicalLinkedIn('https://www.linkedin.com/feed/')).toBeNull();
  });
});

describe('source mappings', () => {
  const apolloRow = {
    'First Name': 'ADA',
    'Last Name': 'LOVELACE',
    Title: ' CTO ',
    Company: 'Acme, Inc.',
    'Company Name for Emails': 'Acme',
    Email: ' Ada+Work@ACME.com ',
    'Email Status': 'Verified',
    Seniority: 'C suite',
    Departments: 'Engineering, Technical',
    'Work Direct Phone': '',
    'Mobile Phone': '020 7946 0958',
    '# Employees': '1,200',
    Industry: 'Computer Software',
    'Person Linkedin Url': 'http://www.linkedin.com/in/ada?trk=x',
    Website: 'https://www.acme.com/',
    'Company Linkedin Url': 'http://www.linkedin.com/company/acme',
    City: 'London',
    State: '',
    Country: 'United Kingdom',
    'Apollo Contact Id': '64a1',
    'Apollo Account Id': '55b2',
    'Email Bounced': 'true',
    Keywords: 'widgets, gears',
  };

  it('Apollo CSV export: headers mapped, values normalized, unknown columns kept raw', () => {
    expect(mapRecord('apollo_csv', apolloRow)).toEqual({
      email: 'ada+work@acme.com',
      first_name: 'Ada',
      last_name: 'Lovelace',
      full_name: 'Ada Lovelace',
      title: 'CTO',
      seniority: 'c suite',
      departments: 'Engineering, Technical',
      email_status: 'verified',
      phone: '+442079460958',
      linkedin_url: 'https://www.linkedin.com/in/ada',
      city: 'London',
      country: 'United Kingdom',
      source_person_id: '64a1',
      company_name: 'Acme, Inc.',
      company_domain: 'acme.com',
      company_website: 'https://acme.com',
      company_linkedin_url: 'https://www.linkedin.com/company/acme',
      company_industry: 'Computer Software',
      company_employees: 1200,
      source_company_id: '55b2',
    });
    const payload = payloadOf(apolloRow, mapRecord('apollo_csv', apolloRow));
    expect(payload['Keywords']).toBe('widgets, gears');
    expect(payload['Email Bounced']).toBe('true'); // kept, but never a status (no canonical field)
    expect(payload.email).toBe('ada+work@acme.com');
    expect(payload).not.toHaveProperty('status');
  });

  it('Apollo API person with its organization object', () => {
    const person = {
      id: 'p1', first_name: 'Grace', last_name: 'Hopper', name: 'Grace Hopper', title: 'Rear Admiral',
      email: 'grace@navy.mil', email_status: 'verified', linkedin_url: 'https://www.linkedin.com/in/gracehopper/',
      departments: ['master_engineering_technical'], seniority: 'director', city: 'Arlington', state: 'Virginia', country: 'United States',
      organization_id: 'o1',
      organization: { id: 'o1', name: 'US Navy', website_url: 'http://www.navy.mil', primary_domain: 'navy.mil', linkedin_url: 'http://www.linkedin.com/company/us-navy', estimated_num_employees: 300000 },
      employment_history: [{ title: 'x' }],
    };
    expect(mapRecord('apollo_api', person)).toMatchObject({
      email: 'grace@navy.mil', full_name: 'Grace Hopper', departments: 'master_engineering_technical',
      linkedin_url: 'https://www.linkedin.com/in/gracehopper', source_person_id: 'p1', source_company_id: 'o1',
      company_name: 'US Navy', company_domain: 'navy.mil', company_website: 'http://navy.mil', company_employees: 300000,
    });
    expect(payloadOf(person, mapRecord('apollo_api', person)).employment_history).toEqual([{ title: 'x' }]);
  });

  it('Apify LinkedIn profile item', () => {
    const item = {
      linkedinUrl: 'https://www.linkedin.com/in/alan-turing-1912/', firstName: 'Alan', lastName: 'Turing', fullName: 'Alan Turing',
      headline: 'Mathematician', jobTitle: 'Researcher', companyName: 'NPL', companyWebsite: 'npl.co.uk',
      companyLinkedin: 'https://www.linkedin.com/company/npl/', addressCountryOnly: 'United Kingdom', publicIdentifier: 'alan-turing-1912',
      email: null, mobileNumber: '+44 20 7946 0000',
    };
    expect(mapRecord('apify_linkedin', item)).toMatchObject({
      first_name: 'Alan', last_name: 'Turing', title: 'Researcher', headline: 'Mathematician',
      linkedin_url: 'https://www.linkedin.com/in/alan-turing-1912', company_domain: 'npl.co.uk', company_linkedin_url: 'https://www.linkedin.com/company/npl',
      country: 'United Kingdom', source_person_id: 'alan-turing-1912', phone: '+442079460000',
    });
    expect(mapRecord('apify_linkedin', item)).not.toHaveProperty('email');
  });

  it('manual rows: canonical names, aliases and a caller mapping; unmapped columns kept', () => {
    const row = { 'E-Mail Address': 'Bob@Example.org', 'Full Name': 'bob smith', Org: 'Example', Notes: 'met at conf' };
    const mapping = { 'E-Mail Address': 'email', 'Full Name': 'full_name', Org: 'company_name' };
    expect(mapRecord('manual', row, mapping)).toEqual({
      email: 'bob@example.org', first_name: 'Bob', last_name: 'Smith', full_name: 'Bob Smith',
      company_name: 'Example', company_domain: 'example.org',
    });
    expect(payloadOf(row, mapRecord('manual', row, mapping)).Notes).toBe('met at conf');
    expect(mapRecord('manual', { organization_name: 'Engines', email: 'x@gmail.com' })).toEqual({ email: 'x@gmail.com', company_name: 'Engines' });
    expect(identifies(mapRecord('manual', { Notes: 'nobody' }))).toBe(false);
  });
});
