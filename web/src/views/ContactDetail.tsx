import { useState, type FormEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from 'react-router-dom';
import { ApiError, request, type Contact } from '../api';
import { Skeleton } from '../App';
import { MergeDuplicate } from './MergeDuplicate';
import { dateTime } from '../format';

const EDITABLE = ['first_name', 'last_name', 'full_name', 'title', 'company_name', 'company_domain', 'phone', 'linkedin_url', 'city', 'state', 'country'] as const;
type Field = (typeof EDITABLE)[number];
const label = (f: string) => f.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());

interface Detail extends Contact {
  master: Record<string, unknown> | null;
  company: Record<string, unknown> | null;
  sources: Record<string, unknown>[];
  history: Record<string, unknown>[];
  intelligence: Record<string, unknown>[];
}
interface Loaded { contact: Detail; etag: string }
interface Conflict { theirs: Contact; mine: Partial<Record<Field, string | null>> }

export default function ContactDetail() {
  const { id } = useParams();
  const queryClient = useQueryClient();
  const key = ['contact', id];
  const q = useQuery({
    queryKey: key,
    queryFn: async ({ signal }): Promise<Loaded> => {
      const res = await request<Detail>('GET', `/api/contacts/${id}`, { signal });
      return { contact: res.data, etag: res.headers.get('etag') ?? '' };
    },
  });
  const [draft, setDraft] = useState<Partial<Record<Field, string>>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const [conflict, setConflict] = useState<Conflict | null>(null);
  const [saving, setSaving] = useState(false);

  if (q.isPending) return <Skeleton rows={12} />;
  if (q.isError) return <p role="alert" className="error">{q.error.message}</p>;
  const { contact, etag } = q.data;

  const changes = (): Partial<Record<Field, string | null>> => {
    const out: Partial<Record<Field, string | null>> = {};
    for (const f of EDITABLE) {
      if (draft[f] === undefined) continue;
      const v = draft[f].trim() === '' ? null : draft[f];
      if (v !== contact[f]) out[f] = v;
    }
    return out;
  };

  const save = async (body: Partial<Record<Field, string | null>>, ifMatch: string) => {
    setSaving(true);
    setErrors({});
    setMessage(null);
    try {
      const res = await request<Contact>('PATCH', `/api/contacts/${id}`, { body, headers: { 'if-match': ifMatch } });
      setDraft({});
      setConflict(null);
      setMessage({ kind: 'ok', text: `Saved (version ${res.data.version}).` });
      await queryClient.invalidateQueries({ queryKey: key });
      await queryClient.invalidateQueries({ queryKey: ['contacts'] });
    } catch (err) {
      if (err instanceof ApiError && err.status === 412) {
        // someone saved meanwhile: load their version and show it next to ours
        const fresh = await request<Detail>('GET', `/api/contacts/${id}`);
        queryClient.setQueryData<Loaded>(key, { contact: fresh.data, etag: fresh.headers.get('etag') ?? '' });
        setConflict({ theirs: fresh.data, mine: body });
      } else if (err instanceof ApiError) {
        setErrors(err.fieldErrors);
        setMessage({ kind: 'error', text: err.message });
      } else {
        setMessage({ kind: 'error', text: String(err) });
      }
    } finally {
      setSaving(false);
    }
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const body = changes();
    if (Object.keys(body).length === 0) { setMessage({ kind: 'error', text: 'Nothing changed.' }); return; }
    void save(body, etag);
  };

  // the golden records gained the duplicate's sources and history
  const merged = () => { void queryClient.invalidateQueries({ queryKey: key }); };
  const name = contact.full_name ?? [contact.first_name, contact.last_name].filter(Boolean).join(' ');
  return (
    <section className="detail">
      <p><Link to="/contacts">← Contacts</Link></p>
      <h1>{name || contact.email}</h1>
      <p className="muted">{contact.email} · {contact.status} · score {contact.score} · source {contact.source} · version {contact.version}</p>

      {conflict && (
        <div className="card conflict" role="alert">
          <h2>Someone else changed this contact while you were editing</h2>
          <table>
            <thead><tr><th scope="col">Field</th><th scope="col">Now saved</th><th scope="col">Your change</th></tr></thead>
            <tbody>
              {Object.entries(conflict.mine).map(([f, v]) => (
                <tr key={f}><th scope="row">{label(f)}</th><td>{String(conflict.theirs[f as Field] ?? '—')}</td><td>{v ?? '—'}</td></tr>
              ))}
            </tbody>
          </table>
          <button type="button" disabled={saving} onClick={() => void save(conflict.mine, q.data.etag)}>Re-apply my changes</button>{' '}
          <button type="button" onClick={() => { setConflict(null); setDraft({}); }}>Keep theirs</button>
        </div>
      )}

      <form className="card edit" onSubmit={submit} noValidate>
        <h2>Edit</h2>
        <div className="form-grid">
          {EDITABLE.map((f) => (
            <div key={f} className="field">
              <label htmlFor={`f-${f}`}>{label(f)}</label>
              <input
                id={`f-${f}`} value={draft[f] ?? contact[f] ?? ''} aria-invalid={errors[f] ? true : undefined}
                aria-describedby={errors[f] ? `e-${f}` : undefined}
                onChange={(e) => setDraft((d) => ({ ...d, [f]: e.target.value }))}
              />
              {errors[f] && <span id={`e-${f}`} className="error">{errors[f]}</span>}
            </div>
          ))}
        </div>
        {message && <p role={message.kind === 'error' ? 'alert' : 'status'} className={message.kind}>{message.text}</p>}
        <button type="submit" disabled={saving}>Save</button>
      </form>

      <div className="cards">
        <div className="card">
          <h2>Golden person</h2>
          {contact.master ? <KeyValues data={contact.master} /> : <p className="muted">Not promoted yet: promote its import batch from Imports.</p>}
          {contact.master && (
            <details>
              <summary>Merge a duplicate person</summary>
              <MergeDuplicate kind="person" survivorId={contact.master.person_id as number} survivorLabel={name || contact.email}
                contactId={contact.contact_id} onMerged={merged} />
            </details>
          )}
        </div>
        <div className="card">
          <h2>Company</h2>
          {contact.company ? <KeyValues data={contact.company} /> : <p className="muted">No company resolved.</p>}
          {contact.company && (
            <details>
              <summary>Merge a duplicate company</summary>
              <MergeDuplicate kind="company" survivorId={contact.company.company_id as number}
                survivorLabel={String(contact.company.name ?? contact.company.domain ?? contact.company.company_id)}
                contactId={contact.contact_id} onMerged={merged} />
            </details>
          )}
        </div>
        <div className="card">
          <h2>LinkedIn intelligence</h2>
          {contact.intelligence.length ? contact.intelligence.map((i, n) => <KeyValues key={n} data={i} />) : <p className="muted">None held. Enrich the contact to fetch it.</p>}
        </div>
      </div>
      <div className="card">
        <h2>Sources</h2>
        <RecordTable label="Sources" rows={contact.sources} empty="No source records yet." />
      </div>
      <div className="card">
        <h2>History</h2>
        <RecordTable label="History" rows={contact.history} empty="No field changes recorded yet." />
      </div>
    </section>
  );
}

const show = (v: unknown) => (v === null || v === undefined ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v));

interface FieldOrigin { source?: string; seen_at?: string; slot_id?: number }

/**
 * A record's fields. A golden record's `field_sources` is not shown as such: each field it names
 * carries its origin (the source that won it and when that source said so) under its value.
 */
function KeyValues({ data }: { data: Record<string, unknown> }) {
  const origins = (data.field_sources && typeof data.field_sources === 'object' ? data.field_sources : {}) as Record<string, FieldOrigin | null>;
  return (
    <dl className="kv">
      {Object.entries(data).filter(([k]) => k !== 'field_sources').map(([k, v]) => {
        const origin = origins[k];
        return (
          <div key={k}>
            <dt>{label(k)}</dt>
            <dd>{show(v)}{origin?.source && <span className="origin">from {origin.source}{origin.seen_at ? `, ${dateTime(origin.seen_at)}` : ''}</span>}</dd>
          </div>
        );
      })}
    </dl>
  );
}

export function RecordTable({ label: name, rows, empty }: { label: string; rows: Record<string, unknown>[]; empty: string }) {
  if (!rows.length) return <p className="muted">{empty}</p>;
  const cols = Object.keys(rows[0]);
  return (
    // a wide table scrolls sideways: focusable, so the keyboard can scroll it too
    <div className="table-wrap" tabIndex={0} role="region" aria-label={name}>
      <table>
        <thead><tr>{cols.map((c) => <th key={c} scope="col">{label(c)}</th>)}</tr></thead>
        <tbody>{rows.map((r, i) => <tr key={i}>{cols.map((c) => <td key={c}>{show(r[c])}</td>)}</tr>)}</tbody>
      </table>
    </div>
  );
}
