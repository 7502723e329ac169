import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { useInfiniteQuery, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router-dom';
import { useVirtualizer } from '@tanstack/react-virtual';
import { ApiError, get, qs, request } from '../api';
import { Skeleton } from '../App';
import { num, over, pct } from '../format';
import type { Campaign } from './Campaigns';

interface StepMetrics { step: number; total: number; queued: number; sent: number; failed: number; opened: number; clicked: number; replied: number; bounced: number; unsubscribed: number }
interface Metrics { campaign_id: number; status: string; sent_count: number; steps: StepMetrics[] }

const EVENTS = ['sent', 'opened', 'clicked', 'replied', 'bounced', 'unsubscribed'] as const;
type OutreachEvent = (typeof EVENTS)[number];

const ACTIONS: Record<string, string[]> = { start: ['draft', 'scheduled'], pause: ['running'], resume: ['paused'], cancel: ['running', 'paused', 'scheduled'] };

export default function CampaignDetail() {
  const { id } = useParams();
  const [search] = useSearchParams();
  const queryClient = useQueryClient();
  const [error, setError] = useState<string | null>(null);
  const c = useQuery({ queryKey: ['campaign', id], queryFn: ({ signal }) => get<Campaign>(`/api/campaigns/${id}`, signal), refetchInterval: 2000 });
  const m = useQuery({ queryKey: ['campaign-metrics', id], queryFn: ({ signal }) => get<Metrics>(`/api/campaigns/${id}/metrics`, signal), refetchInterval: 2000 });
  const act = async (action: string) => {
    setError(null);
    try {
      await request('POST', `/api/campaigns/${id}/${action}`);
      await queryClient.invalidateQueries({ queryKey: ['campaign', id] });
      await queryClient.invalidateQueries({ queryKey: ['campaign-metrics', id] });
    } catch (err) { setError((err as Error).message); }
  };
  if (c.isPending) return <Skeleton />;
  if (c.isError) return <p role="alert" className="error">{c.error.message}</p>;
  const camp = c.data;
  return (
    <section>
      <p><Link to="/campaigns">← Campaigns</Link></p>
      <h1>{camp.name}</h1>
      <p className="muted">Status: <strong data-testid="campaign-status">{camp.status}</strong> · from {camp.from_email} · {camp.time_zone} · {camp.rate_per_minute}/min</p>
      <div className="actions">
        {Object.entries(ACTIONS).map(([a, from]) => (
          <button key={a} type="button" disabled={!from.includes(camp.status)} onClick={() => void act(a)}>{a[0].toUpperCase() + a.slice(1)}</button>
        ))}
        {['draft', 'scheduled'].includes(camp.status) && <Link className="button secondary" to={`/campaigns/${camp.campaign_id}/edit`}>Edit</Link>}
        <Link className="button secondary" to={`/campaigns/${camp.campaign_id}/report`}>Report</Link>
      </div>
      {error && <p role="alert" className="error">{error}</p>}
      <TemplatePreview templateIds={camp.steps.map((s) => s.template_id)} />
      <h2>Funnel per step</h2>
      {m.isPending ? <Skeleton rows={3} /> : m.isError ? <p role="alert" className="error">{m.error.message}</p> : (
        <div className="table-wrap">
          <table aria-label="Funnel">
            <thead><tr>{['Step', 'Audience', 'Queued', 'Sent', 'Delivered', 'Opened', 'Clicked', 'Replied', 'Bounced', 'Unsubscribed', 'Open rate', 'Reply rate'].map((h) => <th scope="col" key={h}>{h}</th>)}</tr></thead>
            <tbody>
              {m.data.steps.map((s) => {
                const delivered = s.sent - s.bounced;
                return (
                  <tr key={s.step}>
                    <td>{s.step}</td><td>{num(s.total)}</td><td>{num(s.queued)}</td><td data-testid={`sent-${s.step}`}><Through n={s.sent} event="sent" step={s.step} /></td><td>{num(delivered)}</td>
                    {(['opened', 'clicked', 'replied', 'bounced', 'unsubscribed'] as const).map((e) => <td key={e} data-testid={`${e}-${s.step}`}><Through n={s[e]} event={e} step={s.step} /></td>)}
                    <td>{pct(over(s.opened, delivered))}</td><td>{pct(over(s.replied, delivered))}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <OutreachGrid campaignId={camp.campaign_id} event={(EVENTS as readonly string[]).includes(search.get('event') ?? '') ? search.get('event') as OutreachEvent : undefined}
        step={Number(search.get('step')) || undefined} steps={camp.steps.map((s) => s.step_no)} live={camp.status === 'running'} />
      <SchedulePanel campaignId={camp.campaign_id} status={camp.status} />
    </section>
  );
}

/** A funnel number that opens the outreach rows behind it (their contacts one click further). */
function Through({ n, event, step }: { n: number; event: OutreachEvent; step: number }) {
  if (!n) return <>{num(n)}</>;
  return <Link to={{ search: `?event=${event}&step=${step}` }} aria-label={`${num(n)} ${event} in step ${step}: show them`}>{num(n)}</Link>;
}

interface OutreachRow {
  outreach_id: number; contact_id: number; email: string; step_no: number; status: string; sent_at: string | null; opened_at: string | null;
  clicked_at: string | null; replied_at: string | null; bounced_at: string | null; bounce_type: string | null; unsubscribed_at: string | null; failure_reason: string | null;
}
const COLUMNS = ['Email', 'Step', 'Status', 'Sent', 'Opened', 'Clicked', 'Replied', 'Bounced', 'Unsubscribed'];
const ROW_H = 36;
const stamp = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const when = (t: string | null) => (t ? stamp.format(new Date(t)) : '');

/** The outreach history: keyset pages of GET /api/campaigns/:id/outreach, rows windowed by TanStack Virtual, filtered by event and step (in the URL). */
function OutreachGrid({ campaignId, event, step, steps, live }: { campaignId: number; event?: OutreachEvent; step?: number; steps: number[]; live: boolean }) {
  const [, setSearch] = useSearchParams();
  const wrap = useRef<HTMLDivElement>(null);
  const body = useRef<HTMLDivElement>(null);
  const q = useInfiniteQuery({
    queryKey: ['outreach', campaignId, event ?? null, step ?? null],
    queryFn: ({ pageParam, signal }) => get<{ rows: OutreachRow[]; next_cursor: number | null }>(
      `/api/campaigns/${campaignId}/outreach${qs({ cursor: pageParam, limit: 200, event, step })}`, signal),
    initialPageParam: undefined as number | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    // while it sends, the first pages follow it; a long history is refreshed by hand
    refetchInterval: (query) => (live && (query.state.data?.pages.length ?? 0) <= 2 ? 3000 : false),
  });
  const rows = q.data?.pages.flatMap((p) => p.rows) ?? [];
  const v = useVirtualizer({ count: rows.length + (q.hasNextPage ? 1 : 0), getScrollElement: () => body.current, estimateSize: () => ROW_H, overscan: 12 });
  const items = v.getVirtualItems();
  const lastIndex = items.at(-1)?.index ?? -1;
  useEffect(() => {
    if (lastIndex >= rows.length - 1 && q.hasNextPage && !q.isFetchingNextPage) void q.fetchNextPage();
  }, [lastIndex, rows.length, q]);
  // the keyboard moves an active row (arrows, Page, Home, End); Enter opens its contact
  const navigate = useNavigate();
  const [active, setActive] = useState(0);
  useEffect(() => setActive(0), [event, step]);
  const onKeyDown = (e: KeyboardEvent) => {
    if (!rows.length) return;
    const page = Math.max(1, Math.floor((body.current?.clientHeight ?? 400) / ROW_H) - 1);
    const moves: Record<string, number> = { ArrowDown: active + 1, ArrowUp: active - 1, PageDown: active + page, PageUp: active - page, Home: 0, End: rows.length - 1 };
    if (e.key in moves) {
      e.preventDefault();
      const next = Math.max(0, Math.min(rows.length - 1, moves[e.key]));
      setActive(next);
      v.scrollToIndex(next, { align: 'auto' });
    } else if (e.key === 'Enter' && rows[active]) {
      navigate(`/contacts/${rows[active].contact_id}`);
    }
  };
  // a funnel number was followed: bring the grid into view
  useEffect(() => { if (event || step) wrap.current?.scrollIntoView({ block: 'start' }); }, [event, step]);
  const set = (k: 'event' | 'step', value: string) => setSearch((p) => {
    const n = new URLSearchParams(p);
    if (value) n.set(k, value); else n.delete(k);
    return n;
  }, { replace: true });
  return (
    <div ref={wrap}>
      <h2 id="outreach-heading">Outreach history</h2>
      <div className="filters">
        <div className="field"><label htmlFor="outreach-event">Event</label>
          <select id="outreach-event" value={event ?? ''} onChange={(e) => set('event', e.target.value)}>
            <option value="">any</option>{EVENTS.map((e) => <option key={e} value={e}>{e}</option>)}
          </select>
        </div>
        <div className="field"><label htmlFor="outreach-step">Step</label>
          <select id="outreach-step" value={step ?? ''} onChange={(e) => set('step', e.target.value)}>
            <option value="">any</option>{steps.map((n) => <option key={n} value={n}>{n}</option>)}
          </select>
        </div>
        <button type="button" className="secondary" onClick={() => void q.refetch()}>Refresh</button>
        <span className="status-line" role="status">{q.isPending ? 'Loading…' : `${num(rows.length)}${q.hasNextPage ? '+' : ''} ${rows.length === 1 && !q.hasNextPage ? 'row' : 'rows'}${event ? ` ${event}` : ''}${step ? ` in step ${step}` : ''}`}</span>
      </div>
      {q.isError && <p role="alert" className="error">{q.error.message}</p>}
      {q.isPending ? <Skeleton rows={4} /> : rows.length === 0 ? (
        <div className="empty"><p>{event || step ? 'No outreach rows with this filter.' : 'No outreach yet: start the campaign and its sends appear here.'}</p></div>
      ) : (
        <div className="grid outreach-grid" role="grid" aria-labelledby="outreach-heading" aria-rowcount={q.hasNextPage ? -1 : rows.length + 1}
          tabIndex={0} onKeyDown={onKeyDown} aria-activedescendant={rows[active] ? `outreach-row-${rows[active].outreach_id}` : undefined}>
          <div className="grid-head" role="rowgroup">
            <div className="grid-row" role="row" aria-rowindex={1}>{COLUMNS.map((h) => <div key={h} role="columnheader">{h}</div>)}</div>
          </div>
          <div className="grid-body outreach-body" ref={body} role="rowgroup" style={{ height: Math.min(420, v.getTotalSize() + 2) }}>
            <div style={{ height: v.getTotalSize(), position: 'relative' }}>
              {items.map((it) => {
                const r = rows[it.index];
                if (!r) return <div key="more" className="grid-row" role="row" style={{ transform: `translateY(${it.start}px)` }}><div role="gridcell">Loading more…</div></div>;
                return (
                  <div key={r.outreach_id} id={`outreach-row-${r.outreach_id}`} className={it.index === active ? 'grid-row active' : 'grid-row'} role="row"
                    aria-rowindex={it.index + 2} aria-selected={it.index === active} style={{ transform: `translateY(${it.start}px)` }}>
                    <div role="gridcell"><Link to={`/contacts/${r.contact_id}`}>{r.email}</Link></div>
                    <div role="gridcell">{r.step_no}</div>
                    <div role="gridcell" title={r.failure_reason ?? undefined}>{r.status}</div>
                    <div role="gridcell" title={r.sent_at ?? undefined}>{when(r.sent_at)}</div><div role="gridcell">{when(r.opened_at)}</div><div role="gridcell">{when(r.clicked_at)}</div>
                    <div role="gridcell">{when(r.replied_at)}</div><div role="gridcell">{r.bounce_type ? `${r.bounce_type} ${when(r.bounced_at)}` : ''}</div>
                    <div role="gridcell">{when(r.unsubscribed_at)}</div>
                  </div>
                );
              })}
            </div>
          </div>
        </div>
      )}
    </div>
  );
}

interface Schedule { schedule_id: string; paused: boolean; note: string | null; next_action_times: string[]; recent_runs: { workflow_id: string; scheduled_at: string }[] }

/** The campaign's Temporal Schedule: create (every N minutes or cron), suspend, reactivate, run now, remove. */
function SchedulePanel({ campaignId, status }: { campaignId: number; status: string }) {
  const queryClient = useQueryClient();
  const key = ['schedule', campaignId];
  const s = useQuery({
    queryKey: key,
    queryFn: async ({ signal }) => {
      try { return await get<Schedule>(`/api/campaigns/${campaignId}/schedule`, signal); } catch (err) {
        if (err instanceof ApiError && err.status === 404) return null;
        throw err;
      }
    },
    refetchInterval: 10_000,
  });
  const [kind, setKind] = useState<'every' | 'cron'>('every');
  const [every, setEvery] = useState('1440');
  const [cron, setCron] = useState('0 9 * * 1-5');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (fn: () => Promise<unknown>, done: string) => {
    setBusy(true); setErrors({}); setMessage(null);
    try {
      await fn();
      setMessage(done);
      await queryClient.invalidateQueries({ queryKey: key });
      await queryClient.invalidateQueries({ queryKey: ['campaign', String(campaignId)] });
    } catch (err) {
      if (err instanceof ApiError) setErrors({ ...err.fieldErrors, _: err.message }); else setErrors({ _: (err as Error).message });
    } finally { setBusy(false); }
  };
  const create = (e: FormEvent) => {
    e.preventDefault();
    const body = kind === 'every' ? { every_minutes: Number(every) } : { cron: [cron] };
    void run(() => request('POST', `/api/campaigns/${campaignId}/schedule`, { body }), 'Schedule created');
  };
  const action = (a: 'pause' | 'unpause' | 'trigger', done: string) => run(() => request('POST', `/api/campaigns/${campaignId}/schedule/${a}`), done);
  return (
    <section className="card" aria-labelledby="schedule-heading">
      <h2 id="schedule-heading">Schedule</h2>
      {s.isPending ? <Skeleton rows={2} /> : s.isError ? <p role="alert" className="error">{s.error.message}</p> : s.data ? (
        <>
          <p>{s.data.paused ? 'Suspended' : 'Active'}{s.data.note ? ` · ${s.data.note}` : ''} · <span className="muted">{s.data.schedule_id}</span></p>
          <p>Next runs: {s.data.next_action_times.length ? s.data.next_action_times.slice(0, 3).map((t) => new Date(t).toLocaleString()).join(', ') : 'none'}</p>
          {s.data.recent_runs.length > 0 && <p>Recent runs: {s.data.recent_runs.map((r) => `${r.workflow_id} (${new Date(r.scheduled_at).toLocaleString()})`).join(', ')}</p>}
          <div className="actions">
            {s.data.paused
              ? <button type="button" disabled={busy} onClick={() => void action('unpause', 'Schedule reactivated')}>Reactivate schedule</button>
              : <button type="button" disabled={busy} onClick={() => void action('pause', 'Schedule suspended')}>Suspend schedule</button>}
            <button type="button" disabled={busy} onClick={() => void action('trigger', 'Run requested')}>Run now</button>
            <button type="button" className="danger" disabled={busy} onClick={() => void run(() => request('DELETE', `/api/campaigns/${campaignId}/schedule`), 'Schedule removed')}>Remove schedule</button>
          </div>
        </>
      ) : status === 'cancelled' ? <p className="muted">A cancelled campaign cannot be scheduled.</p> : (
        <form className="filters" onSubmit={create} noValidate>
          <label>Repeat <select value={kind} onChange={(e) => setKind(e.target.value as 'every' | 'cron')}><option value="every">every N minutes</option><option value="cron">on a cron expression</option></select></label>
          {kind === 'every' ? (
            <label>Every (minutes) <input type="number" min={1} value={every} onChange={(e) => setEvery(e.target.value)} aria-invalid={errors.every_minutes ? true : undefined} aria-describedby={errors.every_minutes ? 'sched-every-error' : undefined} /></label>
          ) : (
            <label>Cron expression <input value={cron} onChange={(e) => setCron(e.target.value)} aria-invalid={errors.cron ? true : undefined} aria-describedby={errors.cron ? 'sched-cron-error' : undefined} /></label>
          )}
          <button type="submit" disabled={busy}>Create schedule</button>
          {errors.every_minutes && <span id="sched-every-error" className="error">{errors.every_minutes}</span>}
          {(errors.cron || errors['cron[0]']) && <span id="sched-cron-error" className="error">{errors.cron ?? errors['cron[0]']}</span>}
        </form>
      )}
      <p className="muted">Each scheduled run sends to the contacts the campaign has not reached yet.</p>
      {errors._ && <p role="alert" className="error">{errors._}</p>}
      {message && <p role="status" className="ok">{message}</p>}
    </section>
  );
}

/** A step's template rendered for one contact (POST /api/templates/:id/preview): unknown variables come back as the API's message. */
function TemplatePreview({ templateIds }: { templateIds: number[] }) {
  const [contactId, setContactId] = useState('');
  const [step, setStep] = useState(0);
  const [out, setOut] = useState<{ subject: string; html: string | null; text: string | null } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const preview = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setOut(null);
    try {
      const { data } = await request<{ subject: string; html: string | null; text: string | null }>('POST', `/api/templates/${templateIds[step]}/preview`, { body: { contact_id: Number(contactId) } });
      setOut(data);
    } catch (err) { setError((err as Error).message); }
  };
  if (!templateIds.length) return null;
  return (
    <div className="card">
      <h2>Preview a step for a contact</h2>
      <form className="filters" onSubmit={(e) => void preview(e)}>
        <label>Step <select value={step} onChange={(e) => setStep(Number(e.target.value))}>{templateIds.map((_, i) => <option key={i} value={i}>{i + 1}</option>)}</select></label>
        <label>Contact id <input type="number" min={1} value={contactId} onChange={(e) => setContactId(e.target.value)} required /></label>
        <button type="submit">Preview</button>
      </form>
      {error && <p role="alert" className="error">{error}</p>}
      {out && (
        <div aria-label="Preview" role="region">
          <p><strong>Subject:</strong> {out.subject}</p>
          {out.text && <pre className="preview-text">{out.text}</pre>}
        </div>
      )}
    </div>
  );
}
