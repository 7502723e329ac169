import { useState, type FormEvent } from 'react';
import { useQueries, useQuery } from '@tanstack/react-query';
import { get } from '../api';
import { Skeleton } from '../App';
import type { Campaign } from './Campaigns';

interface Wf { workflow_id: string; type: string; status: string; start_time: string; close_time: string | null; ui_url: string }

export default function Workflows() {
  const [typeFilter, setTypeFilter] = useState('');
  const [statusFilter, setStatusFilter] = useState('');
  const [lookup, setLookup] = useState('');
  const [extra, setExtra] = useState<string[]>([]);
  const c = useQuery({ queryKey: ['campaigns', 'workflows'], queryFn: ({ signal }) => get<{ campaigns: Campaign[] }>('/api/campaigns?limit=100', signal), staleTime: 0, refetchInterval: 5000 });
  const ids = [...new Set([...extra, ...(c.data?.campaigns.map((x) => x.workflow_id).filter((x): x is string => !!x) ?? [])])];
  const runs = useQueries({ queries: ids.map((id) => ({ queryKey: ['workflow', id], queryFn: ({ signal }: { signal: AbortSignal }) => get<Wf>(`/api/workflows/${encodeURIComponent(id)}`, signal), refetchInterval: 5000 })) });
  const rows = runs.map((r) => r.data).filter((x): x is Wf => !!x)
    .filter((w) => (!typeFilter || w.type === typeFilter) && (!statusFilter || w.status === statusFilter));
  const errors = runs.filter((r) => r.isError).map((r) => r.error?.message);
  const types = [...new Set(runs.map((r) => r.data?.type).filter(Boolean))] as string[];
  const statuses = [...new Set(runs.map((r) => r.data?.status).filter(Boolean))] as string[];
  const add = (e: FormEvent) => { e.preventDefault(); if (lookup.trim()) setExtra((x) => [lookup.trim(), ...x]); setLookup(''); };
  return (
    <section>
      <h1>Workflows</h1>
      <form className="filters" onSubmit={add}>
        <label>Workflow id <input value={lookup} onChange={(e) => setLookup(e.target.value)} placeholder="ingest:…, promote:…, campaign:…" /></label>
        <button type="submit">Look up</button>
        <label>Type <select value={typeFilter} onChange={(e) => setTypeFilter(e.target.value)}><option value="">any</option>{types.map((t) => <option key={t}>{t}</option>)}</select></label>
        <label>Status <select value={statusFilter} onChange={(e) => setStatusFilter(e.target.value)}><option value="">any</option>{statuses.map((t) => <option key={t}>{t}</option>)}</select></label>
      </form>
      {errors.map((m, i) => <p key={i} role="alert" className="error">{m}</p>)}
      {c.isPending ? <Skeleton /> : rows.length === 0 ? <p className="muted">No workflow runs to show yet: start a campaign, or look a run up by its id.</p> : (
        <div className="table-wrap">
          <table>
            <thead><tr>{['Workflow', 'Type', 'Status', 'Started', 'Closed', 'Temporal UI'].map((h) => <th scope="col" key={h}>{h}</th>)}</tr></thead>
            <tbody>
              {rows.map((w) => (
                <tr key={w.workflow_id}>
                  <td>{w.workflow_id}</td><td>{w.type}</td><td>{w.status}</td><td>{new Date(w.start_time).toLocaleString()}</td>
                  <td>{w.close_time ? new Date(w.close_time).toLocaleString() : '—'}</td>
                  <td><a href={w.ui_url} target="_blank" rel="noreferrer">Open {w.workflow_id} in Temporal UI</a></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
