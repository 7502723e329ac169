// GET /api/campaigns/:id/report: delivery, human vs machine opens and clicks, replies, the per-step
// funnel, links, attribution per model and the breakdowns; CSV exports of the report and its recipients.
import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router-dom';
import { get } from '../api';
import { Skeleton } from '../App';
import { num, pct } from '../format';
import { download } from '../hooks';

interface Segment { value: string; sent: number; delivered: number; unique_human_opens: number; unique_human_clicks: number; replies: number; unsubscribes: number; open_rate: number; click_rate: number; reply_rate: number }
interface Report {
  campaign_id: number; name: string; status: string; started_at: string | null; completed_at: string | null; generated_at: string;
  delivery: { sent: number; delivered: number; bounced: number; hard_bounces: number; soft_bounces: number; delivery_rate: number };
  opens: { total: number; unique: number; human: number; unique_human: number; machine: number; rate: number };
  clicks: { total: number; unique: number; human: number; unique_human: number; bot: number; ctr: number; ctor: number; links: { url: string; total: number; unique: number; human: number; unique_human: number; bot: number }[] };
  replies: { human: number; auto: number; rate: number; median_seconds_to_first_reply: number | null };
  unsubscribes: { count: number; rate: number };
  complaints: { count: number; rate: number };
  conversions: { count: number; median_seconds_to_conversion: number | null; models: { model: string; conversions: number; values: { currency: string; value: string }[] }[] };
  funnel: { step: number; sent: number; delivered: number; unique_human_opens: number; unique_human_clicks: number; replies: number; unsubscribes: number; open_rate: number; reply_rate: number; drop_off: number | null }[];
  breakdowns: Record<'company_domain' | 'seniority' | 'industry', Segment[]>;
}

const duration = (s: number | null) => {
  if (s === null) return '—';
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86_400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} days`;
};

function Tile({ label, value, detail }: { label: string; value: string; detail?: string }) {
  return <div className="tile"><span className="tile-value">{value}</span><span className="tile-label">{label}</span>{detail && <span className="muted">{detail}</span>}</div>;
}

export default function CampaignReport() {
  const { id } = useParams();
  const r = useQuery({ queryKey: ['campaign-report', id], queryFn: ({ signal }) => get<Report>(`/api/campaigns/${id}/report`, signal), refetchInterval: 10_000 });
  const [exportError, setExportError] = useState<string | null>(null);
  if (r.isPending) return <Skeleton />;
  if (r.isError) return <p role="alert" className="error">{r.error.message}</p>;
  const d = r.data;
  const csv = (rows: 'summary' | 'recipients') => {
    setExportError(null);
    download(`/api/campaigns/${id}/report?format=csv&rows=${rows}`, `campaign-${id}-${rows === 'summary' ? 'report' : 'recipients'}.csv`)
      .catch((err: Error) => setExportError(err.message));
  };
  return (
    <section>
      <p><Link to={`/campaigns/${id}`}>← {d.name}</Link></p>
      <h1>Report: {d.name}</h1>
      <p className="muted">
        Status {d.status}{d.started_at ? ` · started ${new Date(d.started_at).toLocaleString()}` : ''}{d.completed_at ? ` · completed ${new Date(d.completed_at).toLocaleString()}` : ''}
        {' '}· as of {new Date(d.generated_at).toLocaleTimeString()}. Rates are over delivered messages and count people, not machines.
      </p>
      <div className="actions">
        <button type="button" className="secondary" onClick={() => csv('summary')}>Download report CSV</button>
        <button type="button" className="secondary" onClick={() => csv('recipients')}>Download recipients CSV</button>
      </div>
      {exportError && <p role="alert" className="error">{exportError}</p>}

      <div className="tiles" aria-label="Totals" role="group">
        <Tile label="Delivered" value={num(d.delivery.delivered)} detail={`of ${num(d.delivery.sent)} sent · ${pct(d.delivery.delivery_rate)}`} />
        <Tile label="Bounced" value={num(d.delivery.bounced)} detail={`${num(d.delivery.hard_bounces)} hard · ${num(d.delivery.soft_bounces)} soft`} />
        <Tile label="Open rate" value={pct(d.opens.rate)} detail={`${num(d.opens.unique_human)} people`} />
        <Tile label="Click rate" value={pct(d.clicks.ctr)} detail={`click-to-open ${pct(d.clicks.ctor)}`} />
        <Tile label="Reply rate" value={pct(d.replies.rate)} detail={`first reply after ${duration(d.replies.median_seconds_to_first_reply)} (median)`} />
        <Tile label="Unsubscribed" value={num(d.unsubscribes.count)} detail={pct(d.unsubscribes.rate)} />
        <Tile label="Complaints" value={num(d.complaints.count)} detail={pct(d.complaints.rate)} />
        <Tile label="Conversions" value={num(d.conversions.count)} detail={`after ${duration(d.conversions.median_seconds_to_conversion)} (median)`} />
      </div>

      <h2>People and machines</h2>
      <div className="table-wrap">
        <table aria-label="People and machines">
          <thead><tr><th scope="col">Event</th><th scope="col">People</th><th scope="col">Machines</th><th scope="col">All</th><th scope="col">Unique people</th></tr></thead>
          <tbody>
            <tr><th scope="row">Opens</th><td>{num(d.opens.human)}</td><td>{num(d.opens.machine)}</td><td>{num(d.opens.total)}</td><td>{num(d.opens.unique_human)}</td></tr>
            <tr><th scope="row">Clicks</th><td>{num(d.clicks.human)}</td><td>{num(d.clicks.bot)}</td><td>{num(d.clicks.total)}</td><td>{num(d.clicks.unique_human)}</td></tr>
            <tr><th scope="row">Replies</th><td>{num(d.replies.human)}</td><td>{num(d.replies.auto)} automatic</td><td>{num(d.replies.human + d.replies.auto)}</td><td>—</td></tr>
          </tbody>
        </table>
      </div>

      <h2>Funnel per step</h2>
      <div className="table-wrap">
        <table aria-label="Report funnel">
          <thead><tr>{['Step', 'Sent', 'Delivered', 'Opened (people)', 'Clicked (people)', 'Replied', 'Unsubscribed', 'Open rate', 'Reply rate', 'Drop-off'].map((h) => <th scope="col" key={h}>{h}</th>)}</tr></thead>
          <tbody>
            {d.funnel.map((s) => (
              <tr key={s.step}>
                <th scope="row">{s.step}</th>
                <td data-testid={`report-sent-${s.step}`}>{num(s.sent)}</td><td data-testid={`report-delivered-${s.step}`}>{num(s.delivered)}</td>
                <td>{num(s.unique_human_opens)}</td><td>{num(s.unique_human_clicks)}</td><td>{num(s.replies)}</td><td>{num(s.unsubscribes)}</td>
                <td>{pct(s.open_rate)}</td><td>{pct(s.reply_rate)}</td><td>{s.drop_off === null ? '—' : pct(s.drop_off)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {d.funnel.length === 0 && <p className="muted">Nothing sent yet: the funnel fills as the campaign sends.</p>}

      <h2>Attribution</h2>
      {d.conversions.models.length === 0 ? <p className="muted">No conversions attributed yet. Record them with POST /api/conversions.</p> : (
        <div className="table-wrap">
          <table aria-label="Attribution">
            <thead><tr><th scope="col">Model</th><th scope="col">Conversions</th><th scope="col">Value</th></tr></thead>
            <tbody>{d.conversions.models.map((m) => (
              <tr key={m.model}><th scope="row">{m.model}</th><td>{num(m.conversions)}</td><td>{m.values.length ? m.values.map((v) => `${v.value} ${v.currency}`).join(', ') : '—'}</td></tr>
            ))}</tbody>
          </table>
        </div>
      )}

      {d.clicks.links.length > 0 && (
        <>
          <h2>Links</h2>
          <div className="table-wrap">
            <table aria-label="Links">
              <thead><tr><th scope="col">URL</th><th scope="col">People</th><th scope="col">Unique people</th><th scope="col">Bots</th></tr></thead>
              <tbody>{d.clicks.links.map((l) => <tr key={l.url}><td className="wrap">{l.url}</td><td>{num(l.human)}</td><td>{num(l.unique_human)}</td><td>{num(l.bot)}</td></tr>)}</tbody>
            </table>
          </div>
        </>
      )}

      <h2>Breakdowns</h2>
      <div className="cards">
        {(['company_domain', 'seniority', 'industry'] as const).map((k) => (
          <div key={k} className="card">
            <h3 className="capitalize">{k.replace('_', ' ')}</h3>
            {d.breakdowns[k].length === 0 ? <p className="muted">No data.</p> : (
              <table aria-label={`By ${k.replace('_', ' ')}`}>
                <thead><tr><th scope="col">Value</th><th scope="col">Sent</th><th scope="col">Open rate</th><th scope="col">Reply rate</th></tr></thead>
                <tbody>{d.breakdowns[k].map((s) => <tr key={s.value}><td>{s.value}</td><td>{num(s.sent)}</td><td>{pct(s.open_rate)}</td><td>{pct(s.reply_rate)}</td></tr>)}</tbody>
              </table>
            )}
          </div>
        ))}
      </div>
    </section>
  );
}
