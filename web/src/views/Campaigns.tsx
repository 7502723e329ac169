import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { get } from '../api';
import { Skeleton } from '../App';
import { num } from '../format';

export interface Campaign {
  campaign_id: number; name: string; status: string; from_email: string; time_zone: string; rate_per_minute: number;
  from_name?: string | null; reply_to?: string | null;
  sent_count: number; response_count: number; workflow_id: string | null; criteria: Record<string, unknown>;
  window: { days: number[]; start: string; end: string } | null;
  steps: { step_no: number; template_id: number; delay_seconds: number }[]; started_at: string | null; completed_at: string | null;
}

export default function Campaigns() {
  const q = useQuery({ queryKey: ['campaigns'], queryFn: ({ signal }) => get<{ campaigns: Campaign[] }>('/api/campaigns?limit=100', signal), refetchInterval: 5000 });
  return (
    <section>
      <div className="title-row"><h1>Campaigns</h1><Link className="button" to="/campaigns/new">New campaign</Link></div>
      {q.isError && <p role="alert" className="error">{q.error.message}</p>}
      {q.isPending ? <Skeleton /> : q.data && q.data.campaigns.length === 0 ? (
        <div className="empty"><p>No campaigns yet.</p><p><Link to="/campaigns/new">Create a campaign</Link>: its steps, templates, sending window and audience.</p></div>
      ) : q.data && (
        <div className="table-wrap">
          <table>
            <thead><tr>{['Name', 'Status', 'Steps', 'Sent', 'Responses', 'Time zone', 'Per minute'].map((h) => <th scope="col" key={h}>{h}</th>)}</tr></thead>
            <tbody>
              {q.data.campaigns.map((c) => (
                <tr key={c.campaign_id}>
                  <td><Link to={`/campaigns/${c.campaign_id}`}>{c.name}</Link></td>
                  <td>{c.status}</td><td>{c.steps.length}</td><td>{num(c.sent_count)}</td><td>{num(c.response_count)}</td>
                  <td>{c.time_zone}</td><td>{c.rate_per_minute}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
