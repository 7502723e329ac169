import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { get } from '../api';
import { Skeleton } from '../App';
import { num } from '../format';
import type { Campaign } from './Campaigns';

interface Totals { contacts: number; golden_people: number; golden_companies: number; campaigns_running: number }
interface DashboardData {
  totals: Record<string, unknown>;
  enrichment: { contacts: number; contacts_enriched: number; coverage: number };
  pipeline: { available: boolean; running: number | null; failed: number | null };
}

export default function Dashboard() {
  const t = useQuery({ queryKey: ['totals'], queryFn: ({ signal }) => get<Totals>('/api/totals', signal), refetchInterval: 5000 });
  const d = useQuery({ queryKey: ['analytics-dashboard'], queryFn: ({ signal }) => get<DashboardData>('/api/analytics/dashboard', signal), refetchInterval: 10_000 });
  const c = useQuery({ queryKey: ['campaigns'], queryFn: ({ signal }) => get<{ campaigns: Campaign[] }>('/api/campaigns?limit=100', signal), refetchInterval: 5000 });
  const inFlight = c.data?.campaigns.filter((x) => x.status === 'running' || x.status === 'paused') ?? [];
  return (
    <section>
      <h1>Dashboard</h1>
      {(t.isError || d.isError) && <p role="alert" className="error">{(t.error ?? d.error)!.message}</p>}
      {t.isPending ? <Skeleton rows={2} /> : t.data && (
        <div className="tiles" aria-label="Totals" role="group">
          <Tile id="contacts" label="Contacts" value={num(t.data.contacts)} to="/contacts" />
          <Tile id="golden-people" label="Golden people" value={num(t.data.golden_people)} to="/contacts" />
          <Tile id="golden-companies" label="Golden companies" value={num(t.data.golden_companies)} to="/contacts" />
          <Tile id="campaigns-running" label="Campaigns running" value={num(t.data.campaigns_running)} to="/campaigns" />
        </div>
      )}
      {d.isPending ? <Skeleton rows={2} /> : d.data && (
        <div className="tiles">
          <Tile label="Enriched contacts" value={num(d.data.enrichment.contacts_enriched)} to="/contacts" />
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

function Tile({ id, label, value, to }: { id?: string; label: string; value: string; to: string }) {
  return <Link className="tile" to={to}><span className="tile-value" data-testid={id && `total-${id}`}>{value}</span> <span className="tile-label">{label}</span></Link>;
}
