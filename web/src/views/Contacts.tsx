import { useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { keepPreviousData, useInfiniteQuery } from '@tanstack/react-query';
import { Link, useNavigate, useSearchParams } from 'react-router-dom';
import { get, qs, type ContactPage } from '../api';
import { Skeleton } from '../App';
import { ROW_H, windowOf } from '../grid-window';

const PAGE = 200;
const FILTERS = ['q', 'status', 'score_min', 'score_max', 'source', 'company_domain', 'title', 'sort'] as const;

export default function Contacts() {
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const filters = useMemo(() => Object.fromEntries(FILTERS.map((k) => [k, params.get(k) ?? ''])) as Record<(typeof FILTERS)[number], string>, [params]);
  const [searchText, setSearchText] = useState(filters.q);
  const setFilter = (k: string, v: string) => {
    const next = new URLSearchParams(params);
    if (v) next.set(k, v); else next.delete(k);
    setParams(next, { replace: true });
  };
  // the API searches from 3 characters on (and titles likewise)
  const apiFilters = {
    ...filters,
    q: filters.q.trim().length >= 3 ? filters.q.trim() : '',
    title: filters.title.trim().length >= 3 ? filters.title.trim() : '',
  };

  const query = useInfiniteQuery({
    queryKey: ['contacts', apiFilters],
    queryFn: ({ pageParam, signal }) => get<ContactPage>(`/api/contacts${qs({ ...apiFilters, limit: PAGE, cursor: pageParam })}`, signal),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    placeholderData: keepPreviousData,
  });
  const rows = useMemo(() => query.data?.pages.flatMap((p) => p.data) ?? [], [query.data]);
  const count = rows.length + (query.hasNextPage ? 1 : 0);

  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewportH, setViewportH] = useState(600);
  const [active, setActive] = useState(0);
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setViewportH(el.clientHeight || 600));
    ro.observe(el);
    return () => ro.disconnect();
  }, [query.isPending]);
  // a new search starts at the top
  const filterKey = JSON.stringify(apiFilters);
  useEffect(() => { setActive(0); if (scroller.current) scroller.current.scrollTop = 0; setScrollTop(0); }, [filterKey]);

  const win = windowOf(scrollTop, viewportH, count);
  useEffect(() => {
    if (win.last >= rows.length - 50 && query.hasNextPage && !query.isFetchingNextPage) void query.fetchNextPage();
  }, [win.last, rows.length, query.hasNextPage, query.isFetchingNextPage, query]);

  const scrollToIndex = (i: number) => {
    const el = scroller.current;
    if (!el) return;
    const w = windowOf(el.scrollTop, viewportH, count);
    const denom = Math.max(1, count - w.rowsInView);
    const topFor = (exact: number) => (w.maxTop * Math.max(0, exact)) / denom;
    if (i < w.exact) el.scrollTop = topFor(i);
    else if (i + 1 > w.exact + w.rowsInView) el.scrollTop = topFor(i + 1 - w.rowsInView);
  };
  const onKeyDown = (e: KeyboardEvent) => {
    if (!rows.length) return;
    const page = Math.max(1, Math.floor(viewportH / ROW_H) - 1);
    const moves: Record<string, number> = { ArrowDown: active + 1, ArrowUp: active - 1, PageDown: active + page, PageUp: active - page, Home: 0, End: rows.length - 1 };
    if (e.key in moves) {
      e.preventDefault();
      const next = Math.max(0, Math.min(rows.length - 1, moves[e.key]));
      setActive(next);
      scrollToIndex(next);
    } else if (e.key === 'Enter' && rows[active]) {
      navigate(`/contacts/${rows[active].contact_id}`);
    }
  };

  const visible = [];
  for (let i = win.first; i <= win.last; i++) visible.push(i);

  return (
    <section className="contacts">
      <h1>Contacts</h1>
      <div className="filters">
        <input
          type="search" aria-label="Search contacts" placeholder="Search contacts (name, email, company…)" value={searchText}
          onChange={(e) => { setSearchText(e.target.value); setFilter('q', e.target.value); }}
        />
        <label>Status
          <select value={filters.status} onChange={(e) => setFilter('status', e.target.value)}>
            <option value="">any</option>
            {['active', 'bounced', 'unsubscribed', 'do_not_contact'].map((s) => <option key={s}>{s}</option>)}
          </select>
        </label>
        <label>Score from <input type="number" min={0} max={100} value={filters.score_min} onChange={(e) => setFilter('score_min', e.target.value)} /></label>
        <label>to <input type="number" min={0} max={100} value={filters.score_max} onChange={(e) => setFilter('score_max', e.target.value)} /></label>
        <label>Source <input value={filters.source} onChange={(e) => setFilter('source', e.target.value)} /></label>
        <label>Company domain <input value={filters.company_domain} onChange={(e) => setFilter('company_domain', e.target.value)} /></label>
        <label>Title <input value={filters.title} onChange={(e) => setFilter('title', e.target.value)} /></label>
        <label>Sort
          <select value={filters.sort} onChange={(e) => setFilter('sort', e.target.value)}>
            <option value="">recently updated</option>
            <option value="-created_at">recently created</option>
            <option value="-score">highest score</option>
            <option value="last_name">last name</option>
          </select>
        </label>
      </div>
      {filters.q.trim().length > 0 && filters.q.trim().length < 3 && <p className="hint">Type at least 3 characters to search.</p>}
      {query.isError && <p role="alert" className="error">{query.error.message}</p>}
      {query.isPending ? <Skeleton rows={10} /> : rows.length === 0 && !query.isError ? (
        <div className="empty">
          <p>No contacts match.</p>
          <p>Clear the search and filters, or <Link to="/imports">import a CSV</Link>.</p>
        </div>
      ) : (
        <div
          role="grid" aria-label="Contacts" aria-rowcount={query.hasNextPage ? -1 : rows.length + 1} tabIndex={0}
          aria-activedescendant={rows[active] ? `contact-row-${rows[active].contact_id}` : undefined}
          className="grid" onKeyDown={onKeyDown} aria-busy={query.isFetching}
          data-q={query.isPlaceholderData ? undefined : apiFilters.q}
        >
          <div role="rowgroup" className="grid-head">
            <div role="row" aria-rowindex={1} className="grid-row">
              {['Email', 'Name', 'Title', 'Company', 'Status', 'Score', 'Source'].map((h) => <div role="columnheader" key={h}>{h}</div>)}
            </div>
          </div>
          <div role="rowgroup" className="grid-body" ref={scroller} onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}>
            <div style={{ height: win.scrollH, position: 'relative' }}>
              {visible.map((i) => {
                const top = Math.min(scrollTop, win.maxTop) + (i - win.exact) * ROW_H;
                const c = rows[i];
                if (!c) return <div key="more" role="row" aria-rowindex={i + 2} className="grid-row loading" style={{ top }}><div role="gridcell">Loading more…</div></div>;
                return (
                  <div
                    key={c.contact_id} id={`contact-row-${c.contact_id}`} role="row" aria-rowindex={i + 2} aria-selected={i === active}
                    className={`grid-row${i === active ? ' active' : ''}`} style={{ top }} onClick={() => setActive(i)}
                  >
                    <div role="gridcell"><Link to={`/contacts/${c.contact_id}`} tabIndex={-1}>{c.email}</Link></div>
                    <div role="gridcell">{c.full_name ?? [c.first_name, c.last_name].filter(Boolean).join(' ')}</div>
                    <div role="gridcell">{c.title}</div>
                    <div role="gridcell">{c.company_name ?? c.company_domain}</div>
                    <div role="gridcell">{c.status}</div>
                    <div role="gridcell">{c.score}</div>
                    <div role="gridcell">{c.source}</div>
                  </div>
                );
              })}
            </div>
          </div>
        </div>
      )}
      <p className="status-line" aria-live="polite">{rows.length.toLocaleString()} loaded{query.hasNextPage ? ', more as you scroll' : ''}. ↑/↓ to move, Enter to open.</p>
    </section>
  );
}
