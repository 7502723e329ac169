// Merge a duplicate into the contact's golden person or company: find it by search, pick it,
// confirm, and POST /api/people|companies/:duplicate/merge {into: this one}. The record on the
// page survives, so the page stays valid; the duplicate's slots, keys (and people) move to it.
import { useState, type FormEvent } from 'react';
import { get, qs, request, type Contact, type ContactPage } from '../api';

type Kind = 'person' | 'company';
interface Candidate { id: number; label: string }
interface MergeResult { survivor_id: number; merged_id: number; already_merged: boolean }
interface CompanyPage { data: { company_id: number; name: string | null; domain: string | null; merged_into: number | null }[] }

const nameOf = (c: Pick<Contact, 'full_name' | 'first_name' | 'last_name' | 'email'>) =>
  c.full_name ?? ([c.first_name, c.last_name].filter(Boolean).join(' ') || c.email);

/** Candidates for a search: people through the contacts' word search, companies by name. */
async function search(kind: Kind, text: string, survivorId: number, contactId: number): Promise<Candidate[]> {
  if (kind === 'company') {
    const page = await get<CompanyPage>(`/api/companies${qs({ q: text, limit: 10 })}`);
    return page.data.filter((c) => c.company_id !== survivorId && c.merged_into === null)
      .map((c) => ({ id: c.company_id, label: `${c.name ?? 'Unnamed'}${c.domain ? ` (${c.domain})` : ''}` }));
  }
  const page = await get<ContactPage>(`/api/contacts${qs({ q: text, limit: 10 })}`);
  return page.data.filter((c) => c.contact_id !== contactId).map((c) => ({ id: c.contact_id, label: `${nameOf(c)} <${c.email}>` }));
}

/** A person candidate is a contact: its golden person, or null when it has none yet. */
async function personOf(contactId: number): Promise<{ id: number; label: string } | null> {
  const c = await get<Contact & { master: { person_id: number } | null }>(`/api/contacts/${contactId}`);
  return c.master ? { id: c.master.person_id, label: `${nameOf(c)} <${c.email}>` } : null;
}

export function MergeDuplicate({ kind, survivorId, survivorLabel, contactId, onMerged }: {
  kind: Kind; survivorId: number; survivorLabel: string; contactId: number; onMerged: () => void;
}) {
  const noun = kind === 'person' ? 'person' : 'company';
  const [text, setText] = useState('');
  const [candidates, setCandidates] = useState<Candidate[] | null>(null);
  const [picked, setPicked] = useState<Candidate | null>(null);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const fail = (err: unknown) => setMessage({ kind: 'error', text: err instanceof Error ? err.message : String(err) });

  const find = (e: FormEvent) => {
    e.preventDefault();
    setMessage(null);
    setPicked(null);
    if (text.trim().length < 3) { setMessage({ kind: 'error', text: 'Type at least 3 characters.' }); return; }
    setBusy(true);
    search(kind, text.trim(), survivorId, contactId).then(setCandidates, fail).finally(() => setBusy(false));
  };
  const pick = async (c: Candidate) => {
    setMessage(null);
    if (kind === 'company') { setPicked(c); return; }
    try {
      const person = await personOf(c.id);
      if (!person) setMessage({ kind: 'error', text: `${c.label} has no golden person yet: promote its import first.` });
      else if (person.id === survivorId) setMessage({ kind: 'error', text: `${c.label} already belongs to this person.` });
      else setPicked(person);
    } catch (err) { fail(err); }
  };
  const merge = async () => {
    if (!picked) return;
    setBusy(true);
    try {
      const path = kind === 'person' ? 'people' : 'companies';
      const { data } = await request<MergeResult>('POST', `/api/${path}/${picked.id}/merge`, { body: { into: survivorId } });
      setMessage({ kind: 'ok', text: data.already_merged
        ? `${picked.label} was already merged into ${survivorLabel}.`
        : `Merged ${noun} ${data.merged_id} (${picked.label}) into ${data.survivor_id} (${survivorLabel}).` });
      setPicked(null);
      setCandidates(null);
      setText('');
      onMerged();
    } catch (err) {
      fail(err);
    } finally {
      setBusy(false);
    }
  };

  const inputId = `merge-${kind}-q`;
  return (
    <div className="merge">
      <form onSubmit={find} role="search" aria-label={`Find a duplicate ${noun}`}>
        <label htmlFor={inputId}>Find duplicate {noun}</label>{' '}
        <input id={inputId} type="search" value={text} onChange={(e) => setText(e.target.value)}
          placeholder={kind === 'person' ? 'a word of a name or email' : 'a part of the company name'} />{' '}
        <button type="submit" disabled={busy}>Search</button>
      </form>
      {candidates && (candidates.length === 0 ? <p className="muted">No other {noun} matches.</p> : (
        <ul aria-label={`Duplicate ${noun} candidates`}>
          {candidates.map((c) => (
            <li key={c.id}>{c.label} <button type="button" aria-label={`Pick ${c.label}`} onClick={() => void pick(c)}>Pick</button></li>
          ))}
        </ul>
      ))}
      {picked && (
        <p>
          Merge {noun} {picked.id} ({picked.label}) into this {noun} ({survivorLabel})? Its sources and history move here; the duplicate forwards to this one.{' '}
          <button type="button" disabled={busy} onClick={() => void merge()}>Merge into this {noun}</button>{' '}
          <button type="button" onClick={() => setPicked(null)}>Cancel</button>
        </p>
      )}
      {message && <p role={message.kind === 'error' ? 'alert' : 'status'} className={message.kind}>{message.text}</p>}
    </div>
  );
}
