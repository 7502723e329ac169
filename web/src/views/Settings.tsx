import { useState, type FormEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { ApiError, get, request } from '../api';
import { Skeleton } from '../App';

interface Key { prefix: string; name: string; scopes: string[]; created_at: string; last_used_at: string | null; expires_at: string | null; revoked_at?: string | null }
interface Suppression { email: string; reason: string; source: string | null; created_at: string }

export default function Settings() {
  const queryClient = useQueryClient();
  const keys = useQuery({ queryKey: ['keys'], queryFn: ({ signal }) => get<{ keys: Key[] }>('/api/keys', signal), retry: false });
  const sup = useQuery({ queryKey: ['suppressions'], queryFn: ({ signal }) => get<{ suppressions: Suppression[] }>('/api/suppressions?limit=200', signal) });
  const [email, setEmail] = useState('');
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const add = async (e: FormEvent) => {
    e.preventDefault();
    setMessage(null);
    try {
      const { data } = await request<{ added: number; already: number }>('POST', '/api/suppressions', { body: { emails: [email.trim()] } });
      setMessage({ kind: 'ok', text: data.added ? `Suppressed ${email.trim()}.` : `${email.trim()} was already suppressed.` });
      setEmail('');
      await queryClient.invalidateQueries({ queryKey: ['suppressions'] });
    } catch (err) {
      setMessage({ kind: 'error', text: err instanceof ApiError ? err.message : String(err) });
    }
  };
  return (
    <section>
      <h1>Settings</h1>
      <h2>API keys</h2>
      {keys.isPending ? <Skeleton rows={2} /> : keys.isError ? (
        <p role="alert" className="error">{keys.error.message}{keys.error instanceof ApiError && keys.error.status === 403 ? ' (listing keys needs an admin key)' : ''}</p>
      ) : (
        <table>
          <thead><tr>{['Prefix', 'Name', 'Scopes', 'Created', 'Last used', 'Expires'].map((h) => <th scope="col" key={h}>{h}</th>)}</tr></thead>
          <tbody>{keys.data.keys.map((k) => (
            <tr key={k.prefix}><td><code>{k.prefix}</code></td><td>{k.name}</td><td>{k.scopes.join(', ')}</td><td>{new Date(k.created_at).toLocaleString()}</td>
              <td>{k.last_used_at ? new Date(k.last_used_at).toLocaleString() : 'never'}</td><td>{k.expires_at ? new Date(k.expires_at).toLocaleString() : 'never'}</td></tr>
          ))}</tbody>
        </table>
      )}
      <h2>Suppressions</h2>
      <form className="filters" onSubmit={(e) => void add(e)}>
        <label>Email to suppress <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} required /></label>
        <button type="submit">Suppress</button>
      </form>
      {message && <p role={message.kind === 'error' ? 'alert' : 'status'} className={message.kind}>{message.text}</p>}
      {sup.isPending ? <Skeleton rows={2} /> : sup.isError ? <p role="alert" className="error">{sup.error.message}</p> : sup.data.suppressions.length === 0 ? (
        <p className="muted">No address is suppressed. Unsubscribes, bounces and complaints land here, or add one above.</p>
      ) : (
        <table aria-label="Suppressions">
          <thead><tr><th scope="col">Email</th><th scope="col">Reason</th><th scope="col">Source</th><th scope="col">Since</th></tr></thead>
          <tbody>{sup.data.suppressions.map((s) => <tr key={s.email}><td>{s.email}</td><td>{s.reason}</td><td>{s.source ?? '—'}</td><td>{new Date(s.created_at).toLocaleString()}</td></tr>)}</tbody>
        </table>
      )}
    </section>
  );
}
