import { useEffect, useState, type DragEvent } from 'react';
import { useQuery } from '@tanstack/react-query';
import Papa from 'papaparse';
import { Link } from 'react-router-dom';
import { APOLLO_CSV_COLUMNS, CANONICAL_FIELDS } from '../../../common/source-mappings';
import { csrfHeaders, get, qs, request } from '../api';

/** Apify LinkedIn profile exports (camelCase columns) → canonical fields, as common/source-mappings reads them. */
const APIFY_COLUMNS: Record<string, string> = {
  email: 'email', firstName: 'first_name', lastName: 'last_name', fullName: 'full_name', jobTitle: 'title', occupation: 'title',
  headline: 'headline', mobileNumber: 'phone', linkedinUrl: 'linkedin_url', profileUrl: 'linkedin_url', country: 'country',
  addressCountry: 'country', city: 'city', addressLocality: 'city', publicIdentifier: 'source_person_id', companyName: 'company_name',
  companyWebsite: 'company_website', companyLinkedin: 'company_linkedin_url', companyIndustry: 'company_industry', companySize: 'company_employees',
};

export type Detected = 'apollo_csv' | 'apify' | 'manual';
export function detect(headers: string[]): { kind: Detected; mapping: Record<string, string> } {
  const lower = headers.map((h) => h.trim().toLowerCase());
  const apollo = lower.filter((h) => h in APOLLO_CSV_COLUMNS).length;
  const apify = headers.filter((h) => h in APIFY_COLUMNS && h !== h.toLowerCase()).length;
  const kind: Detected = lower.includes('apollo contact id') || (apollo >= 4 && lower.includes('person linkedin url')) ? 'apollo_csv' : apify >= 2 ? 'apify' : 'manual';
  const mapping: Record<string, string> = {};
  for (const h of headers) {
    const l = h.trim().toLowerCase();
    const m = kind === 'apify' ? APIFY_COLUMNS[h] : APOLLO_CSV_COLUMNS[l] ?? ((CANONICAL_FIELDS as readonly string[]).includes(l.replace(/\s+/g, '_')) ? l.replace(/\s+/g, '_') : undefined);
    if (m) mapping[h] = m;
  }
  return { kind, mapping };
}

interface Batch { batch_id: string; row_count: number; status: string; workflow_id: string; counts: { pending: number; duplicate: number; promoted: number; failed: number }; result?: any; progress?: any }
interface Wf { workflow_id: string; status: string; ui_url: string; result?: any }

export default function Imports() {
  const [file, setFile] = useState<File | null>(null);
  const [headers, setHeaders] = useState<string[]>([]);
  const [preview, setPreview] = useState<Record<string, string>[]>([]);
  const [kind, setKind] = useState<Detected>('manual');
  const [mapping, setMapping] = useState<Record<string, string>>({});
  const [source, setSource] = useState('csv_upload');
  const [error, setError] = useState<string | null>(null);
  const [batchId, setBatchId] = useState<string | null>(null);
  const [promoteId, setPromoteId] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);

  const pick = (f: File | undefined) => {
    if (!f) return;
    setError(null); setBatchId(null); setPromoteId(null);
    Papa.parse<Record<string, string>>(f, {
      header: true, preview: 5, skipEmptyLines: true,
      complete: (res) => {
        const hs = res.meta.fields ?? [];
        if (!hs.length) { setError('That file has no header row.'); return; }
        const d = detect(hs);
        setFile(f); setHeaders(hs); setPreview(res.data); setKind(d.kind); setMapping(d.mapping);
        setSource(d.kind === 'apollo_csv' ? 'apollo' : d.kind === 'apify' ? 'apify' : 'csv_upload');
      },
      error: (err) => setError(err.message),
    });
  };
  const onDrop = (e: DragEvent) => { e.preventDefault(); setDragging(false); pick(e.dataTransfer.files[0]); };

  const upload = async () => {
    if (!file) return;
    setError(null);
    const id = `web-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    const settings = kind === 'apollo_csv'
      ? { source, batch_id: id, format: 'apollo_csv' }
      : { source, batch_id: id, format: 'manual', mapping: JSON.stringify(mapping) };
    try {
      const res = await fetch(`/api/ingest${qs(settings)}`, { method: 'POST', body: file, headers: { 'content-type': 'text/csv', ...csrfHeaders() }, credentials: 'same-origin' });
      const body = await res.json().catch(() => null);
      if (!res.ok) throw new Error(body?.message ?? `${res.status} ${res.statusText}`);
      setBatchId(body.batch_id ?? id);
    } catch (err) { setError((err as Error).message); }
  };

  const batch = useQuery({
    queryKey: ['batch', batchId], enabled: !!batchId,
    queryFn: ({ signal }) => get<Batch>(`/api/ingest/${encodeURIComponent(batchId!)}`, signal),
    refetchInterval: (q) => (q.state.data && isClosed(q.state.data.status) ? false : 1000),
  });
  const promotion = useQuery({
    queryKey: ['workflow', promoteId], enabled: !!promoteId,
    queryFn: ({ signal }) => get<Wf>(`/api/workflows/${encodeURIComponent(promoteId!)}`, signal),
    refetchInterval: (q) => (q.state.data && isClosed(q.state.data.status) ? false : 1000),
  });
  // the batch's counts (promoted, failed) settle when its promotion ends: read them once more then
  const promotionClosed = !!promotion.data && isClosed(promotion.data.status);
  const refetchBatch = batch.refetch;
  useEffect(() => { if (promotionClosed) void refetchBatch(); }, [promotionClosed, refetchBatch]);
  const promote = async () => {
    try {
      const { data } = await request<{ workflow_id: string }>('POST', '/api/promote', { body: { batch_id: batchId } });
      setPromoteId(data.workflow_id);
    } catch (err) { setError((err as Error).message); }
  };

  const b = batch.data;
  const done = b ? b.counts.pending === 0 && b.row_count > 0 ? b.row_count : b.counts.duplicate + b.counts.failed + b.counts.promoted : 0;
  const staged = b ? isClosed(b.status) : false;
  return (
    <section>
      <h1>Imports</h1>
      <div
        className={`dropzone${dragging ? ' dragging' : ''}`} onDragOver={(e) => { e.preventDefault(); setDragging(true); }}
        onDragLeave={() => setDragging(false)} onDrop={onDrop}
      >
        <p>Drop a CSV here (Apollo and Apify exports are recognised from their headers), or</p>
        <label className="button">Choose a CSV file<input type="file" accept=".csv,text/csv" className="visually-hidden" onChange={(e) => pick(e.target.files?.[0])} /></label>
      </div>
      {error && <p role="alert" className="error">{error}</p>}
      {file && !batchId && (
        <div className="card">
          <h2>Map the columns of {file.name}</h2>
          <p>Detected: <strong>{kind === 'apollo_csv' ? 'Apollo export' : kind === 'apify' ? 'Apify LinkedIn export' : 'a manual CSV'}</strong>. Check the mapping, then import.</p>
          <label>Source name <input value={source} onChange={(e) => setSource(e.target.value)} /></label>
          <div className="table-wrap">
            <table>
              <thead><tr><th scope="col">Column</th><th scope="col">Field</th>{preview.map((_, i) => <th scope="col" key={i}>Row {i + 1}</th>)}</tr></thead>
              <tbody>
                {headers.map((h) => (
                  <tr key={h}>
                    <th scope="row">{h}</th>
                    <td>
                      <select aria-label={`Field for column ${h}`} value={mapping[h] ?? ''} onChange={(e) => { setKind(kind === 'apollo_csv' ? 'manual' : kind); setMapping((m) => { const n = { ...m }; if (e.target.value) n[h] = e.target.value; else delete n[h]; return n; }); }}>
                        <option value="">(keep raw only)</option>
                        {CANONICAL_FIELDS.map((f) => <option key={f}>{f}</option>)}
                      </select>
                    </td>
                    {preview.map((r, i) => <td key={i}>{r[h]}</td>)}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <button type="button" onClick={() => void upload()}>Import</button>
        </div>
      )}
      {b && (
        <div className="card">
          <h2>Batch {b.batch_id}</h2>
          <label htmlFor="ingest-progress">Import progress ({b.status})</label>
          <progress id="ingest-progress" max={Math.max(1, b.row_count)} value={staged ? b.row_count : done} />
          <dl className="kv">
            <div><dt>Rows</dt><dd>{b.row_count}</dd></div>
            <div><dt>Waiting for promotion</dt><dd>{b.counts.pending}</dd></div>
            <div><dt>Duplicates</dt><dd>{b.counts.duplicate}</dd></div>
            <div><dt>Failed</dt><dd>{b.counts.failed}</dd></div>
            <div><dt>Promoted</dt><dd>{b.counts.promoted}</dd></div>
          </dl>
          {b.counts.failed > 0 && <p><a href={`/api/ingest/${encodeURIComponent(b.batch_id)}/failed.csv`} download>Download failed rows</a> ({b.counts.failed}, with the reason of each)</p>}
          {staged && !promoteId && <button type="button" onClick={() => void promote()}>Promote</button>}
          {promotion.data && (
            <>
              <label htmlFor="promote-progress">Promotion progress ({promotion.data.status})</label>
              <progress id="promote-progress" max={1} value={isClosed(promotion.data.status) ? 1 : undefined} />
              <p><a href={promotion.data.ui_url} target="_blank" rel="noreferrer">Open in Temporal UI</a></p>
              {isClosed(promotion.data.status) && <p role="status">Promotion {promotion.data.status.toLowerCase()}. <Link to="/contacts">See the contacts</Link>.</p>}
            </>
          )}
        </div>
      )}
    </section>
  );
}

const isClosed = (s: string) => !/running|pending|started|staging/i.test(s);
