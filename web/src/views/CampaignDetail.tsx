import { useState, type FormEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from 'react-router-dom';
import { get, request } from '../api';
import { Skeleton } from '../App';
import { num, over, pct } from '../format';
import type { Campaign } from './Campaigns';

interface StepMetrics { step: number; total: number; queued: number; sent: number; failed: number; opened: number; clicked: number; replied: number; bounced: number; unsubscribed: number }
interface Metrics { campaign_id: number; status: string; sent_count: number; steps: StepMetrics[] }

const ACTIONS: Record<string, string[]> = { start: ['draft', 'scheduled'], pause: ['running'], resume: ['paused'], cancel: ['running', 'paused', 'scheduled'] };

export default function CampaignDetail() {
  const { id } = useParams();
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
                    <td>{s.step}</td><td>{num(s.total)}</td><td>{num(s.queued)}</td><td data-testid={`sent-${s.step}`}>{num(s.sent)}</td><td>{num(delivered)}</td>
                    <td>{num(s.opened)}</td><td>{num(s.clicked)}</td><td>{num(s.replied)}</td><td>{num(s.bounced)}</td><td>{num(s.unsubscribed)}</td>
                    <td>{pct(over(s.opened, delivered))}</td><td>{pct(over(s.replied, delivered))}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
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
