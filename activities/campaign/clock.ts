/**
 * Campaign time during an activity: the workflow's clock when it scheduled the activity (asOf,
 * epoch ms), advanced by real time since. Due times and sending windows count in it; it skips
 * ahead under Temporal's time-skipping test server. Absent: wall-clock time.
 */
export function campaignClock(asOf: number | undefined): () => Date {
  const offset = asOf === undefined ? 0 : asOf - Date.now();
  return () => new Date(Date.now() + offset);
}
