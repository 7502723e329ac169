import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { keepPreviousData, useInfiniteQuery, useMutation, useQuery, type QueryClient } from '@tanstack/react-query';
import { createColumnHelper, rowSortingFeature, tableFeatures, useTable, type SortingState, type Updater } from '@tanstack/react-table';
import { useVirtualizer, type Virtualizer } from '@tanstack/react-virtual';
import { Link, useNavigate, useSearchParams } from 'react-router-dom';
import { get, qs, request, type Contact, type ContactPage } from '../api';
import { Skeleton } from '../App';
import { OVERSCAN, ROW_H, scaledScroller, scrollTopFor, windowOf } from '../grid-window';

// A keystroke waits on the first page only: 100 rows (a few screens) cost less SQL, JSON and
// rendering than 200, and are enough that the next page is not asked for at once (it is when the
// viewport nears the last 50 loaded rows), where it would compete with the next keystroke.
const FIRST_PAGE = 100;
const PAGE = 200;
const FILTERS = ['q', 'status', 'score_min', 'score_max', 'source', 'company_domain', 'title', 'sort'] as const;

// Columns, sorting state and the row model are TanStack Table's; sorting itself is the API's
// (a keyset per sort), so a sortable column names the API sort it stands for.
const features = tableFeatures({ rowSortingFeature });
const column = createColumnHelper<typeof features, Contact>();
const columns = column.columns([
  column.accessor('email', { header: 'Email', enableSorting: false, cell: (c) => <Link to={`/contacts/${c.row.original.contact_id}`} tabIndex={-1}>{c.getValue()}</Link> }),
  column.accessor((c) => c.full_name ?? [c.first_name, c.last_name].filter(Boolean).join(' '), { id: 'name', header: 'Name', sortDescFirst: false }),
  column.accessor('title', { header: 'Title', enableSorting: false }),
  column.accessor((c) => c.company_name ?? c.company_domain, { id: 'company', header: 'Company', enableSorting: false }),
  column.accessor('status', { header: 'Status', enableSorting: false }),
  column.accessor('score', { header: 'Score', sortDescFirst: true }),
  column.accessor('source', { header: 'Source', enableSorting: false }),
]);
/** Column → the API sort it shows, and back. */
const COLUMN_SORTS: Record<string, { sort: string; desc: boolean }> = { name: { sort: 'last_name', desc: false }, score: { sort: '-score', desc: true } };
const sortingOf = (sort: string): SortingState => {
  const id = Object.keys(COLUMN_SORTS).find((k) => COLUMN_SORTS[k].sort === sort);
  return id ? [{ id, desc: COLUMN_SORTS[id].desc }] : [];
};
const emptyRows: Contact[] = [];

/** The filters as the API takes them: it searches from 3 characters on (and titles likewise). */
const apiFiltersOf = (filters: Record<(typeof FILTERS)[number], string>) => ({
  ...filters,
  q: filters.q.trim().length >= 3 ? filters.q.trim() : '',
  title: filters.title.trim().length >= 3 ? filters.title.trim() : '',
});
const pageQuery = (apiFilters: Record<string, string>) => ({
  queryKey: ['contacts', apiFilters],
  queryFn: ({ pageParam, signal }: { pageParam: string | undefined; signal: AbortSignal }) =>
    get<ContactPage>(`/api/contacts${qs({ ...apiFilters, limit: pageParam ? PAGE : FIRST_PAGE, cursor: pageParam })}`, signal),
  initialPageParam: undefined as string | undefined,
  getNextPageParam: (last: ContactPage) => last.next_cursor ?? undefined,
});
/** The first page of the default view, fetched ahead (App does, once signed in): the view opens on cached rows. */
export const prefetchContacts = (client: QueryClient) =>
  client.prefetchInfiniteQuery(pageQuery(apiFiltersOf(Object.fromEntries(FILTERS.map((k) => [k, ''])) as Record<(typeof FILTERS)[number], string>)));

interface BulkResult { bulk_id: number; action: string; matched: number; affected: number; workflow_id: string | null; repeated: boolean }
const BULK_LABELS: Record<string, string> = { suppress: 'Suppress', enrich: 'Enrich', add_to_campaign: 'Add to campaign' };

/** "Select all matching": the server counts and acts on the filter, not on the loaded rows. */
function SelectAllMatching({ filter }: { filter: Record<string, string> }) {
  const body = useMemo(() => Object.fromEntries(Object.entries(filter).filter(([k, v]) => v && k !== 'sort').map(([k, v]) => [k, k.startsWith('score_') ? Number(v) : v])), [filter]);
  const filterKey = JSON.stringify(body);
  const [selected, setSelected] = useState<string | null>(null);
  const [action, setAction] = useState('suppress');
  const [campaignId, setCampaignId] = useState('');
  // one key per intended action: a double click or a retry acts once
  const key = useRef<string>(crypto.randomUUID());
  useEffect(() => { setSelected(null); key.current = crypto.randomUUID(); }, [filterKey]);
  const count = useQuery({
    queryKey: ['contacts-count', body], enabled: selected === filterKey,
    queryFn: ({ signal }) => get<{ matched: number }>(`/api/contacts/count${qs(body as Record<string, string>)}`, signal),
  });
  const campaigns = useQuery({
    queryKey: ['campaigns-for-bulk'], enabled: selected === filterKey && action === 'add_to_campaign',
    queryFn: ({ signal }) => get<{ campaigns: { campaign_id: number; name: string; status: string }[] }>('/api/campaigns?limit=100', signal),
  });
  const act = useMutation({
    mutationFn: async () => (await request<BulkResult>('POST', '/api/contacts/bulk', {
      body: { idempotency_key: key.current, action, filter: body, ...(action === 'add_to_campaign' ? { campaign_id: Number(campaignId) } : {}) },
    })).data,
    onSuccess: () => { key.current = crypto.randomUUID(); },
  });
  if (selected !== filterKey) {
    return <div className="bulk"><button type="button" onClick={() => { setSelected(filterKey); act.reset(); }}>Select all matching</button></div>;
  }
  const n = count.data?.matched;
  return (
    <div className="bulk" role="group" aria-label="Bulk action">
      <span>{n === undefined ? 'Counting…' : `All ${n.toLocaleString()} matching contacts selected.`}</span>
      <label>Action
        <select value={action} onChange={(e) => { setAction(e.target.value); key.current = crypto.randomUUID(); }}>
          {Object.entries(BULK_LABELS).map(([v, l]) => <option key={v} value={v}>{l}</option>)}
        </select>
      </label>
      {action === 'add_to_campaign' && (
        <label>Campaign
          <select value={campaignId} onChange={(e) => { setCampaignId(e.target.value); key.current = crypto.randomUUID(); }}>
            <option value="">choose…</option>
            {campaigns.data?.campaigns.filter((k) => k.status !== 'cancelled' && k.status !== 'completed').map((k) => <option key={k.campaign_id} value={k.campaign_id}>{k.name}</option>)}
          </select>
        </label>
      )}
      <button type="button" disabled={!n || act.isPending || (action === 'add_to_campaign' && !campaignId)} onClick={() => act.mutate()}>
        {BULK_LABELS[action]} {n === undefined ? '' : n.toLocaleString()}
      </button>
      <button type="button" onClick={() => setSelected(null)}>Clear selection</button>
      <span role="status">
        {act.data && `${BULK_LABELS[act.data.action]}: ${act.data.affected.toLocaleString()} of ${act.data.matched.toLocaleString()} matching contacts${act.data.action === 'enrich' ? ' requested' : ''}${act.data.affected < act.data.matched && act.data.action !== 'enrich' ? ' (the others already were)' : ''}.`}
      </span>
      {act.isError && <p role="alert" className="error">{act.error.message}</p>}
    </div>
  );
}

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
  const apiFilters = apiFiltersOf(filters);
  // an empty page (prefetched before any import, say) is asked again on mount; rows stay fresh 10 s
  const query = useInfiniteQuery({
    ...pageQuery(apiFilters), placeholderData: keepPreviousData,
    staleTime: (q) => (q.state.data?.pages[0]?.data.length ? 10_000 : 0),
  });
  const rows = useMemo(() => query.data?.pages.flatMap((p) => p.data) ?? emptyRows, [query.data]);
  const count = rows.length + (query.hasNextPage ? 1 : 0);

  const sorting = useMemo(() => sortingOf(filters.sort), [filters.sort]);
  const table = useTable({
    features, columns, data: rows, manualSorting: true, enableMultiSort: false,
    getRowId: (c) => String(c.contact_id),
    state: { sorting },
    onSortingChange: (updater: Updater<SortingState>) => {
      const next = typeof updater === 'function' ? updater(sorting) : updater;
      // the API sorts one way per column: a second click (the other direction) goes back to the default
      const pick = next[0] && next[0].id !== sorting[0]?.id ? COLUMN_SORTS[next[0].id]?.sort : undefined;
      setFilter('sort', pick ?? '');
    },
  });
  const tableRows = table.getRowModel().rows;

  // TanStack Virtual computes the range in row coordinates over a view of the capped scroller
  // (grid-window.ts): the real element stays at most MAX_SCROLL_H tall, whatever the count.
  const [scrollEl, setScrollEl] = useState<HTMLDivElement | null>(null);
  const countRef = useRef(count);
  countRef.current = count;
  const scroller = useMemo(() => (scrollEl ? scaledScroller(scrollEl, () => countRef.current) : null), [scrollEl]);
  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => scroller as unknown as HTMLDivElement | null,
    estimateSize: () => ROW_H,
    overscan: OVERSCAN,
    getItemKey: (i) => (rows[i] ? rows[i].contact_id : 'more'),
    observeElementRect: useCallback((_: Virtualizer<HTMLDivElement, Element>, cb: (rect: { width: number; height: number }) => void) => {
      if (!scrollEl) return;
      const report = () => cb({ width: scrollEl.clientWidth, height: scrollEl.clientHeight });
      const ro = new ResizeObserver(report);
      ro.observe(scrollEl);
      report();
      return () => ro.disconnect();
    }, [scrollEl]),
  });
  const viewportH = scrollEl?.clientHeight || 600;
  const offset = virtualizer.scrollOffset ?? 0;
  // more rows change the scale: keep the same rows at the top of the viewport
  const shownCount = useRef(count);
  useLayoutEffect(() => {
    if (scrollEl && shownCount.current !== count && scrollEl.scrollTop > 0) scrollEl.scrollTop = scrollTopFor(offset, scrollEl.clientHeight, count);
    shownCount.current = count;
  }, [count, scrollEl, offset]);
  const [active, setActive] = useState(0);
  // a new search starts at the top
  const filterKey = JSON.stringify(apiFilters);
  useEffect(() => { setActive(0); if (scrollEl) scrollEl.scrollTop = 0; }, [filterKey, scrollEl]);

  const items = virtualizer.getVirtualItems();
  const lastShown = items.length ? items[items.length - 1].index : 0;
  useEffect(() => {
    if (lastShown >= rows.length - 50 && query.hasNextPage && !query.isFetchingNextPage) void query.fetchNextPage();
  }, [lastShown, rows.length, query.hasNextPage, query.isFetchingNextPage, query]);

  const scrollToIndex = (i: number) => {
    if (!scrollEl) return;
    const w = windowOf(scrollEl.scrollTop, viewportH, count);
    if (i < w.exact) scrollEl.scrollTop = scrollTopFor(i * ROW_H, viewportH, count);
    else if (i + 1 > w.exact + w.rowsInView) scrollEl.scrollTop = scrollTopFor((i + 1 - w.rowsInView) * ROW_H, viewportH, count);
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
  // rows sit at the real scroll position plus their distance from the virtualizer's offset
  const realTop = scrollTopFor(offset, viewportH, count);

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
      <SelectAllMatching filter={apiFilters} />
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
            {table.getHeaderGroups().map((group) => (
              <div role="row" aria-rowindex={1} className="grid-row" key={group.id}>
                {group.headers.map((h) => {
                  const sorted = h.column.getIsSorted();
                  return (
                    <div role="columnheader" key={h.id} aria-sort={sorted ? (sorted === 'desc' ? 'descending' : 'ascending') : undefined}>
                      {h.column.getCanSort()
                        ? <button type="button" className="sort" onClick={h.column.getToggleSortingHandler()}><table.FlexRender header={h} />{sorted ? (sorted === 'desc' ? ' ↓' : ' ↑') : ''}</button>
                        : <table.FlexRender header={h} />}
                    </div>
                  );
                })}
              </div>
            ))}
          </div>
          {/* focusable: a keyboard scrolls the rows too (axe: scrollable-region-focusable) */}
          <div role="rowgroup" className="grid-body" ref={setScrollEl} tabIndex={0} aria-label="Contact rows">
            <div style={{ height: windowOf(0, viewportH, count).scrollH, position: 'relative' }}>
              {items.map((item) => {
                const top = realTop + item.start - offset;
                const row = tableRows[item.index];
                if (!row) return <div key="more" role="row" aria-rowindex={item.index + 2} className="grid-row loading" style={{ top }}><div role="gridcell">Loading more…</div></div>;
                const c = row.original;
                const i = item.index;
                return (
                  <div
                    key={row.id} id={`contact-row-${c.contact_id}`} role="row" aria-rowindex={i + 2} aria-selected={i === active}
                    className={`grid-row${i === active ? ' active' : ''}`} style={{ top }} onClick={() => setActive(i)}
                  >
                    {row.getAllCells().map((cell) => <div role="gridcell" key={cell.id}><table.FlexRender cell={cell} /></div>)}
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
