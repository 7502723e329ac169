-- Every promoted contact is an entry in each index of vault.contacts (14 of them, two GIN), the
-- largest share of promotion's time. Two of them are prefixes of another index and serve nothing
-- it does not: (status, score) of (status, score desc, contact_id desc) and (company_domain) of
-- (company_domain, updated_at desc, contact_id desc) (a b-tree is read in either direction).
drop index vault.contacts_status_score;
drop index vault.contacts_company_domain;
-- resolution reads a load's canonical fields as typed columns now (people.f_canonical_fields)
drop function if exists people.f_canonical(jsonb);
