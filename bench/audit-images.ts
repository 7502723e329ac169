// npm run bench:audit-images — what the row-image triggers (migration 0031) cost the writes they
// watch: promotion's vault.contacts upsert of existing contacts and survivorship's people.master
// update, in 5,000-row statements as a promotion chunk makes them, with the triggers on against
// the same statements with the triggers disabled, alternating, in the same run.
// BENCH_ROWS (default 50000), BENCH_ROUNDS (default 3). DATABASE_URL, else a throwaway Postgres.
import { createPool } from '../db/pool';
import { migrate } from '../db/migrate';
import { createDatabase, dropDatabase, throwawayPostgres } from '../scripts/postgres';

const n = Number(process.env.BENCH_ROWS ?? 50_000);
const roundsWanted = Number(process.env.BENCH_ROUNDS ?? 3);
const CHUNK = 5000;

const pg = await throwawayPostgres('barton-bench-audit-');
const dbName = `barton_bench_audit_${process.pid}`;
const pool = createPool(await createDatabase(pg.adminUrl, dbName), { max: 2 });
try {
  await migrate(pool);
  await pool.query(
    `insert into vault.contacts (email, first_name, last_name, title, company_name, source, created_at)
     select 'p' || i || '@bench.example', 'First' || i, 'Last' || i, 'Buyer', 'Company ' || (i % 500), 'bench', now() - interval '1 day'
       from generate_series(1, $1) as i`,
    [n],
  );
  await pool.query(
    `insert into people.master (email, first_name, last_name, title, created_at) overriding system value
     select 'p' || i || '@bench.example', 'First' || i, 'Last' || i, 'Buyer', now() - interval '1 day' from generate_series(1, $1) as i`,
    [n],
  );
  await pool.query('analyze vault.contacts; analyze people.master');

  /** Every row once, CHUNK rows a statement: the contacts upsert (on conflict update) and a master update. */
  const pass = async (round: number) => {
    const started = performance.now();
    for (let from = 1; from <= n; from += CHUNK) {
      await pool.query(
        `insert into vault.contacts as c (email, title, source)
         select 'p' || i || '@bench.example', 'Buyer ' || $3::int, 'bench' from generate_series($1::int, $2::int) as i
         on conflict (email) do update set title = excluded.title, version = c.version + 1, updated_at = now()`,
        [from, Math.min(n, from + CHUNK - 1), round],
      );
      await pool.query(
        `update people.master set title = 'Buyer ' || $3::int, version = version + 1, updated_at = now()
          where person_id between $1 and $2`,
        [from, Math.min(n, from + CHUNK - 1), round],
      );
    }
    return (performance.now() - started) / 1000;
  };
  const triggers = async (on: boolean) => {
    for (const t of ['vault.contacts', 'people.master']) await pool.query(`alter table ${t} ${on ? 'enable' : 'disable'} trigger user`);
  };

  const rows: { off: number; on: number }[] = [];
  for (let round = 0; round < roundsWanted; round++) {
    const measure = async (on: boolean) => {
      await triggers(on);
      return pass(round * 2 + (on ? 1 : 0));
    };
    if (round % 2 === 0) {
      const off = await measure(false);
      rows.push({ off, on: await measure(true) });
    } else {
      const on = await measure(true);
      rows.push({ off: await measure(false), on });
    }
  }
  await triggers(true);
  const { rows: [images] } = await pool.query(`select count(*)::int as n, pg_size_pretty(sum(pg_column_size(before) + coalesce(pg_column_size(after), 0))) as size
                                                 from intake.audit_log where action = 'row_updated'`);

  console.log(`rows: ${n} contacts + ${n} people masters, ${CHUNK} per statement, rounds: ${roundsWanted}\n`);
  console.log('| round | triggers off | triggers on | on / off |');
  console.log('|---|---|---|---|');
  for (const [i, r] of rows.entries()) console.log(`| ${i + 1} | ${r.off.toFixed(2)} s | ${r.on.toFixed(2)} s | ${(r.on / r.off).toFixed(2)}× |`);
  console.log(`\nrow images written: ${images.n} (${images.size} of before/after JSON)`);
} finally {
  await pool.end().catch(() => undefined);
  await dropDatabase(pg.adminUrl, dbName).catch(() => undefined);
  await pg.stop();
}
