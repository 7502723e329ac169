// The harness's tables and its goals: 0 rows or sends lost or duplicated, 0 workflows stuck,
// no part crashing on its own, no 5xx but 503, and every recovery within the goal.
import { describePoint } from './plan';
import type { TrialResult } from './trial';

const s = (ms: number | null | undefined) => (ms === undefined ? '—' : ms === null ? 'never' : `${(ms / 1000).toFixed(1)} s`);

/** What failed the goals in one trial (empty: it met them all). */
export function goalFailures(r: TrialResult, recoveryGoalMs: number): string[] {
  const failures: string[] = [];
  if (r.rows.lost) failures.push(`${r.rows.lost} rows lost`);
  if (r.rows.duplicated) failures.push(`${r.rows.duplicated} rows duplicated`);
  if (r.sends.lost) failures.push(`${r.sends.lost} sends lost`);
  if (r.sends.duplicated) failures.push(`${r.sends.duplicated} duplicate deliveries`);
  if (r.stuck.size) failures.push(`${r.stuck.size} workflows stuck (${[...r.stuck].slice(0, 5).map(([id, st]) => `${id} ${st}`).join(', ')})`);
  if (r.crashes.length) failures.push(`${r.crashes.length} crashes: ${r.crashes.map((c) => `${c.part} ${c.how}`).join('; ')}`);
  if (r.client.serverErrors) failures.push(`${r.client.serverErrors} API answers 5xx other than 503: ${r.client.serverErrorSamples.join('; ')}`);
  for (const k of r.kills) {
    if (k.at !== undefined && (k.recoveryMs === null || (k.recoveryMs ?? 0) > recoveryGoalMs)) failures.push(`${k.part}: recovery ${s(k.recoveryMs)} (goal ≤ ${recoveryGoalMs / 1000} s)`);
  }
  return failures;
}

export function printReport(results: TrialResult[], recoveryGoalMs: number): void {
  console.log('\nper trial:\n');
  console.log('| trial | time (ingest + campaign) | rows lost | rows duplicated | sends lost | sends duplicated at the sink | workflows stuck | crashes | API 5xx (503s) | slowest recovery | goals |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    const slowest = r.kills.reduce<number | null | undefined>((m, k) => (k.recoveryMs === null || m === null ? null : Math.max(m ?? 0, k.recoveryMs ?? 0)), undefined);
    console.log(
      `| ${r.trial} | ${r.seconds.toFixed(0)} s (${r.ingestSeconds.toFixed(0)} + ${r.campaignSeconds.toFixed(0)}) | ${r.rows.lost} | ${r.rows.duplicated} | ${r.sends.lost} | ${r.sends.duplicated} | ` +
        `${r.stuck.size} of ${r.workflows} | ${r.crashes.length} | ${r.client.serverErrors} (${r.client.unavailable}) | ${s(slowest)} | ` +
        `${goalFailures(r, recoveryGoalMs).length ? 'FAILED' : 'met'} |`,
    );
  }
  console.log('\nper kill (recovery: from the part serving again until the API is ready and the work has resumed):\n');
  console.log('| trial | part | planned at | killed at | down | restart took | recovery | next commit after | longest stall after |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    for (const k of r.kills) {
      console.log(
        `| ${r.trial} | ${k.part} | ${describePoint(k.planned)} | ${k.at === undefined ? 'work done first: not killed' : describePoint(k.at)} | ` +
          `${s(k.downMs)} | ${s(k.restartMs)} | ${s(k.recoveryMs)} | ${s(k.movedMs)} | ${s(k.stallMs)} |`,
      );
    }
  }
  console.log('\ncounted in the database and at the sink:\n');
  for (const r of results) {
    const { rows: w, sends: m } = r;
    console.log(
      `trial ${r.trial}: ${w.expected} rows posted; staged ${w.stagedRows} (${w.distinctRows} distinct), promoted ${w.promotedRows}, ` +
        `contacts ${w.contacts}, golden people ${w.people}, audit ingested ${w.ingestedAudit} (${w.ingestedAuditDistinct} distinct) ` +
        `promoted ${w.promotedAudit} (${w.promotedAuditDistinct} distinct); ` +
        `${m.expected} recipients: ledger sent ${m.ledgerSent}, sink deliveries ${m.deliveries}; ` +
        `client retries: ${r.client.connectionErrors} connection errors, ${r.client.unavailable} × 503`,
    );
  }
}
