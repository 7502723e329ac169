import { beginStatement, type Pool } from './pool';

/**
 * A page cursor a repository cannot read: not one it returned, or one of another sort. Thrown by
 * the page queries (the cursor is decoded while the SQL is built); the API answers 400 naming the
 * cursor, with `reason` as the field's message.
 */
export class InvalidCursorError extends Error {
  constructor(readonly reason: string) {
    super('invalid cursor');
  }
}

const daysInMonth = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();

/**
 * Whether text is a timestamptz as Postgres writes one (ISO DateStyle: "2024-05-01
 * 09:30:00.123456+00", offsets to the second) that it would read back: a cursor's sort key
 * is sent back as a parameter, and a tampered one must not reach the query.
 */
export function isTimestampText(text: string): boolean {
  const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.\d{1,6})?([+-])(\d\d)(?::(\d\d)(?::(\d\d))?)?$/.exec(text);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const [offsetHours, offsetMinutes, offsetSeconds] = [m[8], m[9] ?? '0', m[10] ?? '0'].map(Number);
  return (
    year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month) &&
    hour <= 23 && minute <= 59 && second <= 59 &&
    offsetHours <= 15 && offsetMinutes <= 59 && offsetSeconds <= 59
  );
}

/** Whether text is a smallint Postgres reads (a score). */
export const isSmallintText = (text: string) => /^-?\d{1,5}$/.test(text) && Number(text) >= -32768 && Number(text) <= 32767;

/** Whether a value may stand in for a bigint id (Postgres' bigint holds every safe integer). */
export const isIdValue = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/**
 * Streams a query's rows in pages through a server-side cursor in a read-only transaction, so a
 * result of any size is never held whole (CSV exports). `sql` is the query the cursor is declared for.
 */
export async function* streamRows<T>(pool: Pool, sql: string, params: unknown[], pageSize: number): AsyncGenerator<T[]> {
  const client = await pool.connect();
  client.on('error', () => undefined); // a dropped connection fails the next query instead of the process
  try {
    await client.query(beginStatement('read only'));
    await client.query(`declare rows_out no scroll cursor for ${sql}`, params);
    for (;;) {
      const { rows } = await client.query(`fetch ${pageSize} from rows_out`);
      if (!rows.length) break;
      yield rows as T[];
    }
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
