export const pct = (n: number | null | undefined) => (n === null || n === undefined || Number.isNaN(n) ? '—' : `${(n * 100).toFixed(1)}%`);
/** A moment as the reader's locale writes it ("Dec 4, 2026, 6:31 PM"); '' for none. */
export const dateTime = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '');
export const num = (n: number | null | undefined) => (n === null || n === undefined ? '—' : n.toLocaleString());
/** A rate over delivered messages (sent minus bounced); 0 delivered shows as —. */
export const over = (part: number, delivered: number) => (delivered > 0 ? part / delivered : null);
