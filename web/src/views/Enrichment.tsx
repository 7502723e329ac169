// Enrichment: start a run for listed contacts or a filter (POST /api/enrich), and the runs with
// their progress and outcomes (GET /api/enrich, GET /api/enrich/:id for the ones in flight).
import { useState, type FormEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useSearchParams } from 'react-router-dom';
import { ApiError, get, request } from '../api';
import { Skeleton } from '../App';
import { num } from '../format';

interface Run {
  request_id: string; workflow_id: string | null; actor: string | null; providers: string[]; force: boolean; credit_budget: number | null; credits_used: number;
  created_at: string; written_back_at: string | null; written_back: number | null; requested: number; skipped_fresh: number;
  calls_planned: number; calls_done: number; calls_failed: number; calls_skipped_budget: number; matched: number;
}
interface RunStatus { status: string; progress?: { phase?: string }; failure?: string; result?: { enriched_count: number; promoted_count: number; failed: number } }

const PROVIDERS = ['apollo', 'apify'] as const;

export default function Enrichment() {
  const queryClient = useQueryClient();
  const [params] = useSearchParams();
  const [target, setTarget] = useState<'contacts' | 'filter'>(params.get('contact_ids') ? 'contacts' : params.get('source') || params.get('company_domain') ? 'filter' : 'contacts');
  const [ids, setIds] = useState(params.get('contact_ids')?.split(',').join(', ') ?? '');
  const [source, setSource] = useState(params.get('source') ?? '');
  const [domain, setDomain] = useState(params.get('company_domain') ?? '');
  const [status, setStatus] = useState('');
  const [limit, setLimit] = useState('');
  const [providers, setProviders] = useState<string[]>([...PROVIDERS]);
  const [force, setForce] = useState(false);
  const [budget, setBudget] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const runs = useQuery({ queryKey: ['enrich-runs'], queryFn: ({ signal }) => get<{ runs: Run[]; next_cursor: string | null }>('/api/enrich?limit=50', signal), refetchInterval: 3000 });

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setErrors({}); setMessage(null); setBusy(true);
    const numberOr = (s: string) => (Number.isFinite(Number(s)) ? Number(s) : s);
    const body: Record<string, unknown> = { providers, force };
    if (budget.trim()) body.credit_budget = numberOr(budget.trim());
    if (target === 'contacts') body.contact_ids = ids.split(/[\s,]+/).filter(Boolean).map(numberOr);
    else body.filter = { ...(source.trim() && { source: source.trim() }), ...(domain.trim() && { company_domain: domain.trim() }), ...(status && { status }), ...(limit.trim() && { limit: numberOr(limit.trim()) }) };
    try {
      const { data } = await request<{ request_id: string; existing: boolean }>('POST', '/api/enrich', { body });
      setMessage(`Enrichment ${data.request_id} ${data.existing ? 'was already running' : 'started'}`);
      await queryClient.invalidateQueries({ queryKey: ['enrich-runs'] });
    } catch (err) {
      if (err instanceof ApiError) setErrors({ ...err.fieldErrors, _: err.message }); else setErrors({ _: (err as Error).message });
    } finally { setBusy(false); }
  };
  // a field's message, or its first item's (contact_ids[0])
  const messageFor = (f: string) => errors[f] ?? Object.entries(errors).find(([k]) => k.startsWith(`${f}[`) || k.startsWith(`${f}.`))?.[1];
  const fieldError = (f: string, id: string) => messageFor(f) && <span className="error" id={id}>{messageFor(f)}</span>;
  const invalid = (f: string, id: string) => (messageFor(f) ? { 'aria-invalid': true as const, 'aria-describedby': id } : {});

  return (
    <section>
      <h1>Enrichment</h1>
      <form className="card" onSubmit={(e) => void submit(e)} noValidate aria-labelledby="enrich-start">
        <h2 id="enrich-start">Enrich contacts</h2>
        <div className="filters">
          <label>Whom <select value={target} onChange={(e) => setTarget(e.target.value as 'contacts' | 'filter')}>
            <option value="contacts">these contacts</option><option value="filter">contacts matching a filter</option>
          </select></label>
        </div>
        {target === 'contacts' ? (
          <div className="field">
            <label htmlFor="enrich-ids">Contact ids</label>
            <textarea id="enrich-ids" rows={2} value={ids} onChange={(e) => setIds(e.target.value)} placeholder="12, 13, 14" {...invalid('contact_ids', 'enrich-ids-error')} />
            {fieldError('contact_ids', 'enrich-ids-error')}
          </div>
        ) : (
          <div className="form-grid">
            <div className="field"><label htmlFor="enrich-source">Source</label><input id="enrich-source" value={source} onChange={(e) => setSource(e.target.value)} {...invalid('filter.source', 'enrich-source-error')} />{fieldError('filter.source', 'enrich-source-error')}</div>
            <div className="field"><label htmlFor="enrich-domain">Company domain</label><input id="enrich-domain" value={domain} onChange={(e) => setDomain(e.target.value)} {...invalid('filter.company_domain', 'enrich-domain-error')} />{fieldError('filter.company_domain', 'enrich-domain-error')}</div>
            <div className="field"><label htmlFor="enrich-status">Contact status</label>
              <select id="enrich-status" value={status} onChange={(e) => setStatus(e.target.value)}><option value="">any</option>{['active', 'bounced', 'unsubscribed', 'do_not_contact'].map((s) => <option key={s}>{s}</option>)}</select></div>
            <div className="field"><label htmlFor="enrich-limit">At most</label><input id="enrich-limit" type="number" min={1} value={limit} onChange={(e) => setLimit(e.target.value)} {...invalid('filter.limit', 'enrich-limit-error')} />{fieldError('filter.limit', 'enrich-limit-error')}</div>
          </div>
        )}
        <div className="filters">
          <fieldset className="inline-group"><legend>Providers</legend>
            {PROVIDERS.map((p) => (
              <label key={p} className="inline"><input type="checkbox" checked={providers.includes(p)} onChange={(e) => setProviders((all) => (e.target.checked ? [...all, p] : all.filter((x) => x !== p)))} /> {p === 'apify' ? 'LinkedIn (Apify)' : 'Apollo'}</label>
            ))}
          </fieldset>
          <label className="inline"><input type="checkbox" checked={force} onChange={(e) => setForce(e.target.checked)} /> Ask again even where the intelligence is fresh</label>
          <label>Credit budget <input type="number" min={0} value={budget} onChange={(e) => setBudget(e.target.value)} {...invalid('credit_budget', 'enrich-budget-error')} /></label>
          {fieldError('credit_budget', 'enrich-budget-error')}
        </div>
        {fieldError('providers', 'enrich-providers-error')}
        <button type="submit" disabled={busy}>Start enrichment</button>
        {errors._ && <p role="alert" className="error">{errors._}</p>}
        {message && <p role="status" className="ok">{message}</p>}
      </form>

      <h2>Runs</h2>
      {runs.isError && <p role="alert" className="error">{runs.error.message}</p>}
      {runs.isPending ? <Skeleton /> : runs.data && runs.data.runs.length === 0 ? (
        <div className="empty"><p>No enrichment runs yet.</p><p>Enrich contacts above, by their ids or a filter; each run shows its progress and outcome here.</p></div>
      ) : runs.data && (
        <div className="table-wrap">
          <table aria-label="Enrichment runs">
            <thead><tr>{['Request', 'Started', 'Providers', 'People', 'Progress', 'Matched', 'Credits', 'Outcome'].map((h) => <th scope="col" key={h}>{h}</th>)}</tr></thead>
            <tbody>{runs.data.runs.map((r) => <RunRow key={r.request_id} run={r} />)}</tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function RunRow({ run }: { run: Run }) {
  const done = run.written_back_at !== null;
  // the ledgers say when a run wrote back; before that, Temporal says whether it is still going
  const s = useQuery({
    queryKey: ['enrich-run', run.request_id],
    queryFn: ({ signal }) => get<RunStatus>(`/api/enrich/${encodeURIComponent(run.request_id)}`, signal),
    enabled: !done,
    refetchInterval: 3000,
  });
  const calls = run.calls_done + run.calls_failed + run.calls_skipped_budget;
  const toAsk = run.requested - run.skipped_fresh;
  const outcome = done
    ? `Done: ${num(run.written_back)} written back`
    : s.data?.status === 'RUNNING' ? `Running${s.data.progress?.phase ? ` (${s.data.progress.phase})` : ''}`
    : s.data?.failure ? `${s.data.status.toLowerCase()}: ${s.data.failure}`
    : s.data?.status ? s.data.status.toLowerCase() : s.isError ? s.error.message : '…';
  return (
    <tr>
      <td className="wrap">{run.request_id}</td>
      <td>{new Date(run.created_at).toLocaleString()}{run.actor ? ` by ${run.actor}` : ''}</td>
      <td>{run.providers.join(', ')}{run.force ? ' (forced)' : ''}</td>
      <td>{num(run.requested)}{run.skipped_fresh ? `, ${num(run.skipped_fresh)} still fresh` : ''}</td>
      <td>
        {run.calls_planned === 0
          ? (done || toAsk === 0 ? 'no calls needed' : 'planning')
          : <><progress max={run.calls_planned} value={calls} aria-label={`Provider calls of ${run.request_id}`} /> {num(calls)} / {num(run.calls_planned)} calls{run.calls_failed ? `, ${num(run.calls_failed)} failed` : ''}{run.calls_skipped_budget ? `, ${num(run.calls_skipped_budget)} over budget` : ''}</>}
      </td>
      <td>{num(run.matched)}</td>
      <td>{num(run.credits_used)}{run.credit_budget !== null ? ` of ${num(run.credit_budget)}` : ''}</td>
      <td data-testid={`enrich-outcome-${run.request_id}`}>{outcome}</td>
    </tr>
  );
}
