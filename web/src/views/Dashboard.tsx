import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { get } from '../api';
import { Skeleton } from '../App';
import { num } from '../format';
import type { Campaign } from './Campaigns';

interface DashboardData {
  totals: Record<string, unknown>;
  enrichment: { contacts: number; contacts_enriched: number; coverage: number };
  pipeline: { available: boolean; running: number | null; failed: number | null };
}

export default function Dashboard() {
  const d = useQuery({ queryKey: ['analytics-dashboard'], queryFn: ({ signal }) => get<DashboardData>('/api/analytics/dashboard', signal), refetchInterval: 10_000 });
  const c = useQuery({ queryKey: ['campaigns'], queryFn: ({ signal }) => get<{ campaigns: Campaign[] }>('/api/campaigns?limit=100', signal), refetchInterval: 5000 });
  const inFlight = c.data?.campaigns.filter((x) => x.status === 'running' || x.status === 'paused') ?? [];
  return (
    <section>
      <h1>Dashboard</h1>
      {d.isError && <p role="alert" className="error">{d.error.message}</p>}
      {d.isPending ? <Skeleton rows={4} /> : d.data && (
        <div className="tiles">
          <Tile label="Contacts" value={num(d.data.enrichment.contacts)} to="/contacts" />
          <Tile label="Enriched contacts" value={num(d.data.enrichment.contacts_enriched)} to="/contacts" />
          <Tile label="Campaigns running" value={num(c.data?.campaigns.filter((x) => x.status === 'running').length)} to="/campaigns" />
          <Tile label="Workflows running" value={d.data.pipeline.available ? num(d.data.pipeline.running) : 'Temporal unavailable'} to="/workflows" />
          <Tile label="Workflows failed" value={d.data.pipeline.available ? num(d.data.pipeline.failed) : '—'} to="/workflows" />
        </div>
      )}
      <h2>Campaigns in flight</h2>
      {c.isPending ? <Skeleton rows={2} /> : inFlight.length === 0 ? <p className="muted">No campaign is running. <Link to="/campaigns">Open Campaigns</Link> to start one.</p> : (
        <ul>{inFlight.map((x) => <li key={x.campaign_id}><Link to={`/campaigns/${x.campaign_id}`}>{x.name}</Link> — {x.status}, {num(x.sent_count)} sent</li>)}</ul>
      )}
    </section>
  );
}

function Tile({ label, value, to }: { label: string; value: string; to: string }) {
  return <Link className="tile" to={to}><span className="tile-value">{value}</span><span className="tile-label">{label}</span></Link>;
}
