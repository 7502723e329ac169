import { z } from 'zod';

const noLineBreaks = (s: string) => !/[\r\n]/.test(s);
const isTimeZone = (tz: string) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};
/** Postgres integer: employee counts are stored as one. */
const INT4_MAX = 2_147_483_647;
/** Postgres smallint: step numbers. */
const INT2_MAX = 32_767;
const MAX_OFFSET_MINUTES = 14 * 60;
/**
 * A date-time Postgres stores as given: ISO 8601 with Z or an offset, a real calendar date in
 * years 0001-9999 (zod checks the date; year 0000 does not exist in Postgres), and an offset no
 * further from UTC than ±14:00, the widest any time zone uses (Postgres refuses beyond ±15:59).
 */
const dateTime = z.iso.datetime({ offset: true }).superRefine((s, ctx) => {
  if (s.startsWith('0000')) ctx.addIssue({ code: 'custom', message: 'year must be 0001 to 9999' });
  const offset = /([+-])(\d{2}):(\d{2})$/.exec(s);
  if (offset && Number(offset[2]) * 60 + Number(offset[3]) > MAX_OFFSET_MINUTES) {
    ctx.addIssue({ code: 'custom', message: 'UTC offset must be within ±14:00' });
  }
});
const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/, 'must be HH:MM or HH:MM:SS');

export const Criteria = z
  .object({
    min_score: z.number().int().min(0).max(100).optional(),
    max_score: z.number().int().min(0).max(100).optional(),
    title_contains: z.string().min(1).max(200).optional(),
    company_name_contains: z.string().min(1).max(200).optional(),
    company_domains: z.array(z.string().min(1).max(253)).max(1000).optional(),
    countries: z.array(z.string().min(2).max(64)).max(300).optional(),
    sources: z.array(z.string().min(1).max(64)).max(100).optional(),
    created_after: dateTime.optional(),
    new_since_last_run: z.boolean().optional(),
    // golden-record (master data) fields of the contact's person and company
    seniorities: z.array(z.string().min(1).max(64)).max(50).optional(),
    departments_contains: z.string().min(1).max(200).optional(),
    industries: z.array(z.string().min(1).max(200)).max(200).optional(),
    min_employees: z.number().int().min(0).max(INT4_MAX).optional(),
    max_employees: z.number().int().min(0).max(INT4_MAX).optional(),
  })
  .strict();

export const Delay = z
  .object({
    days: z.number().int().min(0).max(365).optional(),
    hours: z.number().int().min(0).max(10_000).optional(),
    minutes: z.number().int().min(0).max(1_000_000).optional(),
    seconds: z.number().int().min(0).max(100_000_000).optional(),
  })
  .strict();

export const Step = z.object({ template_id: z.number().int().positive(), delay: Delay.optional() });

export const Window = z
  .object({ days: z.array(z.number().int().min(1).max(7)).min(1).max(7), start: clock, end: clock })
  .refine((w) => w.start < w.end, { message: 'start must be before end', path: ['end'] });

const fields = {
  name: z.string().trim().min(1).max(200),
  from_email: z.email().max(254),
  from_name: z.string().trim().min(1).max(200).refine(noLineBreaks, 'must not contain CR or LF (it is a header field)').nullish(),
  reply_to: z.email().max(254).nullish(),
  criteria: Criteria.optional(),
  time_zone: z.string().refine(isTimeZone, 'must be an IANA time zone such as Europe/Berlin').optional(),
  window: Window.nullish(),
  rate_per_minute: z.number().int().min(1).max(1_000_000).optional(),
  steps: z.array(Step).min(1).max(20),
};

export const CampaignBody = z.object(fields);
export const CampaignPatch = z.object(fields).partial();

export const Campaign = z.object({
  campaign_id: z.number().int(),
  name: z.string(),
  status: z.string(),
  from_email: z.string(),
  from_name: z.string().nullable(),
  reply_to: z.string().nullable(),
  criteria: z.record(z.string(), z.unknown()),
  time_zone: z.string(),
  window: z.object({ days: z.array(z.number()), start: z.string(), end: z.string() }).nullable(),
  rate_per_minute: z.number().int(),
  sent_count: z.number().int(),
  response_count: z.number().int(),
  workflow_id: z.string().nullable(),
  steps: z.array(z.object({ step_no: z.number().int(), template_id: z.number().int(), delay_seconds: z.number().int() })),
  created_at: z.date(),
  updated_at: z.date(),
  started_at: z.date().nullable(),
  completed_at: z.date().nullable(),
});

export const CampaignParams = z.object({ id: z.coerce.number().int().positive() });
export const CursorQuery = z.object({
  cursor: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export const CampaignList = z.object({ campaigns: z.array(Campaign), next_cursor: z.number().int().nullable() });

export const OutreachQuery = CursorQuery.extend({
  status: z.enum(['queued', 'sending', 'sent', 'failed', 'stopped', 'suppressed', 'cancelled']).optional(),
  step: z.coerce.number().int().min(1).max(INT2_MAX).optional(),
  /** Rows that saw the event, counted as the funnel counts them (GET …/metrics). */
  event: z.enum(['sent', 'opened', 'clicked', 'replied', 'bounced', 'unsubscribed']).optional(),
});
export const OutreachRow = z.object({
  outreach_id: z.number().int(),
  contact_id: z.number().int(),
  email: z.string(),
  step_no: z.number().int(),
  status: z.string(),
  message_id: z.string().nullable(),
  due_at: z.date().nullable(),
  sent_at: z.date().nullable(),
  opened_at: z.date().nullable(),
  clicked_at: z.date().nullable(),
  replied_at: z.date().nullable(),
  bounced_at: z.date().nullable(),
  bounce_type: z.string().nullable(),
  unsubscribed_at: z.date().nullable(),
  failure_reason: z.string().nullable(),
  attempts: z.number().int(),
});
export const OutreachPage = z.object({ rows: z.array(OutreachRow), next_cursor: z.number().int().nullable() });

export const StepMetrics = z.object({
  step: z.number().int(),
  total: z.number().int(),
  queued: z.number().int(),
  sent: z.number().int(),
  failed: z.number().int(),
  stopped: z.number().int(),
  suppressed: z.number().int(),
  cancelled: z.number().int(),
  opened: z.number().int(),
  clicked: z.number().int(),
  replied: z.number().int(),
  bounced: z.number().int(),
  unsubscribed: z.number().int(),
  rates: z.object({ open: z.number(), click: z.number(), reply: z.number(), bounce: z.number(), unsubscribe: z.number() }),
});
export const Metrics = z.object({
  campaign_id: z.number().int(),
  status: z.string(),
  sent_count: z.number().int(),
  response_count: z.number().int(),
  steps: z.array(StepMetrics),
});

export const ControlAccepted = z.object({
  workflow_id: z.string(),
  signal: z.string(),
  /** cancel only: the run did not act on the signal in time and was terminated */
  terminated: z.boolean().optional(),
});
export const Progress = z.object({ workflow_id: z.string(), status: z.string(), progress: z.unknown() });

export const ScheduleBody = z
  .object({
    cron: z.array(z.string().min(1).max(200)).min(1).max(10).optional(),
    every_minutes: z.number().int().min(1).max(525_600).optional(),
    paused: z.boolean().default(false),
    note: z.string().max(500).optional(),
  })
  .refine((s) => Boolean(s.cron) !== Boolean(s.every_minutes), { message: 'give cron or every_minutes (one of them)', path: ['cron'] });
export const ScheduleView = z.object({
  schedule_id: z.string(),
  paused: z.boolean(),
  note: z.string().nullable(),
  next_action_times: z.array(z.date()),
  recent_runs: z.array(z.object({ workflow_id: z.string(), scheduled_at: z.date() })),
});
/** Counted up to this many; the live count in the campaign editor needs no more. */
export const AUDIENCE_COUNT_CAP = 100_000;
export const AudienceCountBody = z.object({ criteria: Criteria.default({}) }).strict();
export const AudienceCount = z.object({
  count: z.number().int().describe(`contacts the criteria select now (active, not suppressed), at most ${AUDIENCE_COUNT_CAP.toLocaleString('en')}`),
  capped: z.boolean().describe('true: more match than count says'),
});
export const NoContent = z.null().describe('no content');
