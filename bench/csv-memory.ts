// npm run bench:csv-memory [-- --mb 200 --baseline-mb 20]
// Streams a generated Apollo-format CSV of --mb megabytes through POST /api/ingest (text/csv) on
// the real API and samples this process's RSS while it stages. Flat memory means the peak RSS
// growth does not scale with the file: it is compared with a --baseline-mb upload in the same run.
import { parseArgs } from 'node:util';
import { measureCsvUpload } from './csv-upload';
import { startBenchStack } from './stack';

const { values } = parseArgs({
  options: {
    mb: { type: 'string', default: '200' },
    'baseline-mb': { type: 'string', default: '20' },
  },
});

const stack = await startBenchStack();
try {
  const baseline = await measureCsvUpload(stack, Number(values['baseline-mb']) * 1048576);
  const full = await measureCsvUpload(stack, Number(values.mb) * 1048576);
  const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;
  console.log('| upload | rows staged | time | MB/s | RSS before | RSS peak | RSS growth | memory held (after GC) growth |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of [baseline, full]) {
    if (r.status !== 202 || r.stagedRows !== r.rows) throw new Error(`upload failed: HTTP ${r.status}, ${r.stagedRows}/${r.rows} rows staged`);
    console.log(
      `| ${mb(r.bytes)} | ${r.stagedRows.toLocaleString('en-US')} | ${(r.ms / 1000).toFixed(1)} s | ${(r.bytes / 1048576 / (r.ms / 1000)).toFixed(1)} | ` +
        `${mb(r.rssBefore)} | ${mb(r.rssPeak)} | ${mb(r.rssPeak - r.rssBefore)} | ${mb(r.livePeak - r.liveBefore)} |`,
    );
  }
  // ratios against the small upload (floored at 1 MB: below that is noise)
  const ratio = (big: number, small: number) => (Math.max(big, 1048576) / Math.max(small, 1048576)).toFixed(2);
  console.log(
    `file ${(full.bytes / baseline.bytes).toFixed(1)}× larger; RSS growth ${ratio(full.rssPeak - full.rssBefore, baseline.rssPeak - baseline.rssBefore)}×, ` +
      `memory held ${ratio(full.livePeak - full.liveBefore, baseline.livePeak - baseline.liveBefore)}× the small upload's`,
  );
} finally {
  await stack.close();
}
