import { Suspense, useEffect, useState } from 'react';
import { NavLink, Route, Routes } from 'react-router-dom';
import { useQueryClient } from '@tanstack/react-query';
import { currentSession, setUnauthorizedHandler, signOut, type Session } from './api';
import { SignIn } from './views/SignIn';
import { lazyRoute } from './lazy-route';

// one chunk per route
const Dashboard = lazyRoute(() => import('./views/Dashboard'));
const Contacts = lazyRoute(() => import('./views/Contacts'));
const ContactDetail = lazyRoute(() => import('./views/ContactDetail'));
const Imports = lazyRoute(() => import('./views/Imports'));
const Campaigns = lazyRoute(() => import('./views/Campaigns'));
const CampaignDetail = lazyRoute(() => import('./views/CampaignDetail'));
const CampaignEdit = lazyRoute(() => import('./views/CampaignEdit'));
const CampaignReport = lazyRoute(() => import('./views/CampaignReport'));
const Enrichment = lazyRoute(() => import('./views/Enrichment'));
const Analytics = lazyRoute(() => import('./views/Analytics'));
const Workflows = lazyRoute(() => import('./views/Workflows'));
const Settings = lazyRoute(() => import('./views/Settings'));

export function Skeleton({ rows = 6 }: { rows?: number }) {
  return (
    <div className="skeleton" role="status" aria-busy="true" aria-label="Loading">
      {Array.from({ length: rows }, (_, i) => <div key={i} className="skeleton-line" />)}
    </div>
  );
}

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const queryClient = useQueryClient();
  useEffect(() => {
    setUnauthorizedHandler(() => { queryClient.clear(); setSession(null); });
    currentSession().then(setSession, () => setSession(null));
  }, [queryClient]);

  // once signed in, fetch the Contacts route's chunk while the browser is idle: the busiest view opens without a chunk round trip
  useEffect(() => {
    if (!session) return;
    // and its first page: the chunk and the rows load in parallel, before the click
    const id = setTimeout(() => { void Contacts.preload().then((m) => m.prefetchContacts(queryClient)); }, 0);
    return () => clearTimeout(id);
  }, [session, queryClient]);

  if (session === undefined) return <main className="center"><Skeleton rows={3} /></main>;
  if (session === null) return <SignIn onSignedIn={setSession} />;

  const links = ['Dashboard', 'Contacts', 'Imports', 'Campaigns', 'Enrichment', 'Analytics', 'Workflows', 'Settings'];
  return (
    <div className="layout">
      <header className="topbar">
        <span className="brand">Barton Outreach</span>
        <nav aria-label="Main">
          {links.map((name) => (
            <NavLink key={name} to={name === 'Dashboard' ? '/' : `/${name.toLowerCase()}`} end={name === 'Dashboard'}>{name}</NavLink>
          ))}
        </nav>
        <span className="who">{session.name}</span>
        <button type="button" onClick={() => { void signOut().then(() => { queryClient.clear(); setSession(null); }); }}>Sign out</button>
      </header>
      <main className="content">
        <Suspense fallback={<Skeleton />}>
          <Routes>
            <Route path="/" element={<Dashboard />} />
            <Route path="/contacts" element={<Contacts />} />
            <Route path="/contacts/:id" element={<ContactDetail />} />
            <Route path="/imports" element={<Imports />} />
            <Route path="/campaigns" element={<Campaigns />} />
            <Route path="/campaigns/new" element={<CampaignEdit />} />
            <Route path="/campaigns/:id" element={<CampaignDetail />} />
            <Route path="/campaigns/:id/edit" element={<CampaignEdit />} />
            <Route path="/campaigns/:id/report" element={<CampaignReport />} />
            <Route path="/enrichment" element={<Enrichment />} />
            <Route path="/analytics" element={<Analytics />} />
            <Route path="/workflows" element={<Workflows />} />
            <Route path="/settings" element={<Settings />} />
            <Route path="*" element={<p>Nothing here. Use the navigation above.</p>} />
          </Routes>
        </Suspense>
      </main>
    </div>
  );
}
