-- Contact search by word prefix (GET /api/contacts?q=): each contact's searchable words as a
-- tsvector, indexed with GIN. A trigram substring search scanned the posting lists of very common
-- trigrams ("com", "ny ") for rare terms and could not tell a common term from a rare one.
--
-- The words: every whitespace-separated token of the names, email, email domain, company name
-- and company domain, lowercased, whole ("o'brien", "ada@acme.io", "acme.io") and split at
-- punctuation ("o", "brien", "ada", "acme", "io"). array_to_tsvector keeps them verbatim: no
-- stemming, no stop words, no parser rules that would split an email differently from a query.
create or replace function vault.f_contact_search_words(email text, full_name text, first_name text, last_name text,
                                                        company_name text, company_domain text)
returns tsvector language sql immutable parallel safe as $$
  select array_to_tsvector(coalesce(array_agg(distinct w), '{}'))
  from regexp_split_to_table(lower(concat_ws(' ', full_name, first_name, last_name, email, split_part(email, '@', 2),
                                              company_name, company_domain)), '\s+') tok,
       unnest(tok || regexp_split_to_array(tok, '[^[:alnum:]]+')) w
  where w <> '' and octet_length(w) <= 200 -- a lexeme must stay under 2 kB; no one types 200 bytes
$$;

-- Stored, so a plan that walks a sort's keyset index and filters (a common term) tests a ready
-- tsvector per row instead of recomputing the words.
alter table vault.contacts add column search_words tsvector
  generated always as (vault.f_contact_search_words(email, full_name, first_name, last_name, company_name, company_domain)) stored;
create index contacts_search_words on vault.contacts using gin (search_words);
-- The default sort's keyset carries the words: a search walks it testing each entry's words
-- without visiting the table (an index-only scan), and fetches only the page's rows.
drop index vault.contacts_updated_keyset;
create index contacts_updated_keyset on vault.contacts (updated_at desc, contact_id desc) include (search_words);

drop index vault.contacts_search_trgm;
drop function vault.f_contact_search_text(text, text, text, text, text, text);
