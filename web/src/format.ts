export const pct = (n: number | null | undefined) => (n === null || n === undefined || Number.isNaN(n) ? '—' : `${(n * 100).toFixed(1)}%`);
export const num = (n: number | null | undefined) => (n === null || n === undefined ? '—' : n.toLocaleString());
/** A rate over delivered messages (sent minus bounced); 0 delivered shows as —. */
export const over = (part: number, delivered: number) => (delivered > 0 ? part / delivered : null);
