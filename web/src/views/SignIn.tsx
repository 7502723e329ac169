import { useState, type FormEvent } from 'react';
import { signIn, type Session } from '../api';

export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    signIn(key.trim()).then(onSignedIn, (err: Error) => { setError(err.message); setBusy(false); });
  };
  return (
    <main className="center">
      <form className="card signin" onSubmit={submit}>
        <h1>Barton Outreach</h1>
        <p>Paste an API key once (<code>npm run apikey:create</code>); you stay signed in with a session.</p>
        <label htmlFor="apikey">API key</label>
        <input id="apikey" type="password" autoComplete="off" value={key} onChange={(e) => setKey(e.target.value)} required />
        {error && <p role="alert" className="error">{error}</p>}
        <button type="submit" disabled={busy || !key.trim()}>Sign in</button>
      </form>
    </main>
  );
}
