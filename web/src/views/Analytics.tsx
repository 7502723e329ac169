import { lazy, Suspense } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { get } from '../api';
import { Skeleton } from '../App';
import { num, pct } from '../format';

const BarChart = lazy(() => import('./BarChart'));

interface DashboardData {
  from: string; to: string;
  series: ({ start: string } & Record<string, number>)[];
  totals: Record<string, unknown>;
  top_campaigns: { by_reply_rate: { campaign_id: number; name: string; delivered: number; replies: number; reply_rate: number }[] };
}

export default function Analytics() {
  const d = useQuery({ queryKey: ['analytics-dashboard'], queryFn: ({ signal }) => get<DashboardData>('/api/analytics/dashboard', signal) });
  if (d.isPending) return <Skeleton />;
  if (d.isError) return <p role="alert" className="error">{d.error.message}</p>;
  const t = d.data.totals;
  const keys = Object.entries(t).filter(([, v]) => typeof v === 'number') as [string, number][];
  return (
    <section>
      <h1>Analytics</h1>
      <p className="muted">{d.data.from} to {d.data.to}</p>
      <dl className="kv tiles-kv">{keys.map(([k, v]) => <div key={k}><dt>{k.replace(/_/g, ' ')}</dt><dd>{num(v)}</dd></div>)}</dl>
      <h2>Messages sent per bucket</h2>
      <Suspense fallback={<Skeleton rows={3} />}>
        <BarChart label="Sent per bucket" points={d.data.series.map((s) => ({ x: s.start, y: Number(s.sent ?? 0) }))} />
      </Suspense>
      <h2>Top campaigns by reply rate</h2>
      {d.data.top_campaigns.by_reply_rate.length === 0 ? <p className="muted">No deliveries in this range yet.</p> : (
        <table>
          <thead><tr><th scope="col">Campaign</th><th scope="col">Delivered</th><th scope="col">Replies</th><th scope="col">Reply rate</th></tr></thead>
          <tbody>{d.data.top_campaigns.by_reply_rate.map((c) => (
            <tr key={c.campaign_id}><td><Link to={`/campaigns/${c.campaign_id}`}>{c.name}</Link></td><td>{num(c.delivered)}</td><td>{num(c.replies)}</td><td>{pct(c.reply_rate)}</td></tr>
          ))}</tbody>
        </table>
      )}
    </section>
  );
}
