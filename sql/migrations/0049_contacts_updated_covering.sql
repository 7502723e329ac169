-- Issue 15 goal 2: the default page (GET /api/contacts, sort -updated_at) read ~100 heap pages
-- per 100 rows, one per contact (rows in update order are scattered over the table), mostly
-- missing shared buffers. The default sort's keyset now carries every column the list shows, so
-- that page is an index-only scan over a few leaf pages; a search's walk over it stays index-only
-- (search_words is still included). The heap is read only for pages of the other sorts.
drop index vault.contacts_updated_keyset;
create index contacts_updated_keyset on vault.contacts (updated_at desc, contact_id desc)
  include (search_words, email, first_name, last_name, full_name, title, company_name, company_domain, phone,
           linkedin_url, city, state, country, source, status, score, version, created_at);
