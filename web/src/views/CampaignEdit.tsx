// Create or edit a campaign: steps with their templates (edited here, previewed live for a chosen
// contact), delays, sending window and time zone, throttle, and audience criteria with a live count.
import { useEffect, useMemo, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { ApiError, get, qs, request, type ContactPage } from '../api';
import { Skeleton } from '../App';
import { num } from '../format';
import { useDebounced } from '../hooks';
import type { Campaign } from './Campaigns';

interface Template { template_id: number; name: string; subject: string; html: string | null; text_body: string | null }
interface Preview { subject: string; html: string | null; text: string | null }

interface StepDraft {
  key: number;
  templateId: number | null;
  subject: string; text_body: string; html: string;
  days: string; hours: string; minutes: string;
}

const CRITERIA_TEXT = ['title_contains', 'company_name_contains', 'departments_contains'] as const;
const CRITERIA_LISTS = ['sources', 'company_domains', 'countries', 'seniorities', 'industries'] as const;
const CRITERIA_NUMBERS = ['min_score', 'max_score', 'min_employees', 'max_employees'] as const;
type CriteriaForm = Record<(typeof CRITERIA_TEXT)[number] | (typeof CRITERIA_LISTS)[number] | (typeof CRITERIA_NUMBERS)[number] | 'created_after', string> & { new_since_last_run: boolean };
const CRITERIA_LABELS: Record<keyof CriteriaForm, string> = {
  min_score: 'Minimum score', max_score: 'Maximum score', title_contains: 'Title contains', company_name_contains: 'Company name contains',
  departments_contains: 'Department contains', sources: 'Sources', company_domains: 'Company domains', countries: 'Countries',
  seniorities: 'Seniorities', industries: 'Industries', min_employees: 'Minimum employees', max_employees: 'Maximum employees',
  created_after: 'Created after', new_since_last_run: 'Only contacts new since the last run',
};
const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

const emptyCriteria = (): CriteriaForm => ({
  min_score: '', max_score: '', title_contains: '', company_name_contains: '', departments_contains: '', sources: '', company_domains: '',
  countries: '', seniorities: '', industries: '', min_employees: '', max_employees: '', created_after: '', new_since_last_run: false,
});

/** The form's criteria as the API's object: empty fields left out, lists split on commas, numbers as numbers (a non-number is sent as typed, for the API to name). */
function criteriaOf(f: CriteriaForm): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of CRITERIA_TEXT) if (f[k].trim()) out[k] = f[k].trim();
  for (const k of CRITERIA_LISTS) {
    const items = f[k].split(',').map((s) => s.trim()).filter(Boolean);
    if (items.length) out[k] = items;
  }
  for (const k of CRITERIA_NUMBERS) if (f[k].trim()) out[k] = Number.isFinite(Number(f[k])) ? Number(f[k]) : f[k];
  if (f.created_after) out.created_after = new Date(f.created_after).toISOString();
  if (f.new_since_last_run) out.new_since_last_run = true;
  return out;
}

function criteriaForm(c: Record<string, unknown>): CriteriaForm {
  const f = emptyCriteria();
  for (const k of CRITERIA_TEXT) if (typeof c[k] === 'string') f[k] = c[k];
  for (const k of CRITERIA_LISTS) if (Array.isArray(c[k])) f[k] = (c[k] as string[]).join(', ');
  for (const k of CRITERIA_NUMBERS) if (typeof c[k] === 'number') f[k] = String(c[k]);
  if (typeof c.created_after === 'string') {
    const d = new Date(c.created_after);
    f.created_after = new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
  }
  f.new_since_last_run = c.new_since_last_run === true;
  return f;
}

let nextKey = 1;
const blankStep = (days = ''): StepDraft => ({ key: nextKey++, templateId: null, subject: '', text_body: '', html: '', days, hours: '', minutes: '' });

const delayOf = (s: StepDraft) => {
  const d: Record<string, number | string> = {};
  for (const k of ['days', 'hours', 'minutes'] as const) if (s[k].trim()) d[k] = Number.isFinite(Number(s[k])) ? Number(s[k]) : s[k];
  return Object.keys(d).length ? d : undefined;
};

const changed = (s: StepDraft, t: Template | undefined) =>
  !t || t.subject !== s.subject || (t.text_body ?? '') !== s.text_body || (t.html ?? '') !== s.html;

function Field({ id, label, error, children, hint }: { id: string; label: string; error?: string; children: ReactNode; hint?: string }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children}
      {hint && <span className="hint" id={`${id}-hint`}>{hint}</span>}
      {error && <span className="error" id={`${id}-error`}>{error}</span>}
    </div>
  );
}
const described = (id: string, error?: string, hint?: boolean) =>
  ({ id, 'aria-invalid': error ? true : undefined, 'aria-describedby': [error && `${id}-error`, hint && `${id}-hint`].filter(Boolean).join(' ') || undefined });

export default function CampaignEdit() {
  const { id } = useParams();
  const editing = id !== undefined;
  const c = useQuery({ queryKey: ['campaign', id], queryFn: ({ signal }) => get<Campaign>(`/api/campaigns/${id}`, signal), enabled: editing, staleTime: 0 });
  const t = useQuery({ queryKey: ['templates'], queryFn: ({ signal }) => get<{ templates: Template[] }>('/api/templates', signal), staleTime: 0 });
  // the form starts from what it loads: an edit waits for both as they are now, not as cached
  const fresh = (q: { isFetchedAfterMount: boolean; isError: boolean }) => q.isFetchedAfterMount || q.isError;
  if ((editing && !fresh(c)) || (editing ? !fresh(t) : t.isPending)) return <Skeleton />;
  if (c.isError) return <p role="alert" className="error">{c.error.message}</p>;
  if (t.isError) return <p role="alert" className="error">{t.error.message}</p>;
  if (!t.data) return <Skeleton />;
  if (editing && c.data && !['draft', 'scheduled'].includes(c.data.status)) {
    return (
      <section>
        <h1>Edit {c.data.name}</h1>
        <p role="alert" className="error">This campaign is {c.data.status}: only draft or scheduled campaigns change.</p>
        <p><Link to={`/campaigns/${id}`}>Back to the campaign</Link></p>
      </section>
    );
  }
  return <CampaignForm campaign={editing ? c.data : undefined} templates={t.data.templates} />;
}

function CampaignForm({ campaign, templates }: { campaign?: Campaign & { from_name?: string | null; reply_to?: string | null }; templates: Template[] }) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const byId = useMemo(() => new Map(templates.map((x) => [x.template_id, x])), [templates]);
  const [name, setName] = useState(campaign?.name ?? '');
  const [fromEmail, setFromEmail] = useState(campaign?.from_email ?? '');
  const [fromName, setFromName] = useState(campaign?.from_name ?? '');
  const [replyTo, setReplyTo] = useState(campaign?.reply_to ?? '');
  const [timeZone, setTimeZone] = useState(campaign?.time_zone ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC');
  const [rate, setRate] = useState(String(campaign?.rate_per_minute ?? 60));
  const [windowOn, setWindowOn] = useState(Boolean(campaign?.window));
  const [windowDays, setWindowDays] = useState<number[]>(campaign?.window?.days ?? [1, 2, 3, 4, 5]);
  const [windowStart, setWindowStart] = useState(campaign?.window?.start.slice(0, 5) ?? '09:00');
  const [windowEnd, setWindowEnd] = useState(campaign?.window?.end.slice(0, 5) ?? '17:00');
  const [criteria, setCriteria] = useState<CriteriaForm>(() => criteriaForm(campaign?.criteria ?? {}));
  const [steps, setSteps] = useState<StepDraft[]>(() => campaign?.steps.length
    ? campaign.steps.map((s) => {
      const tpl = byId.get(s.template_id);
      const d = s.delay_seconds;
      return {
        key: nextKey++, templateId: s.template_id, subject: tpl?.subject ?? '', text_body: tpl?.text_body ?? '', html: tpl?.html ?? '',
        days: d >= 86_400 ? String(Math.floor(d / 86_400)) : '', hours: d % 86_400 >= 3600 ? String(Math.floor((d % 86_400) / 3600)) : '',
        minutes: d % 3600 >= 60 ? String(Math.floor((d % 3600) / 60)) : '',
      };
    })
    : [blankStep()]);
  const [previewContact, setPreviewContact] = useState<number | null>(null);
  const [previewLabel, setPreviewLabel] = useState<string | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);

  const criteriaBody = useMemo(() => criteriaOf(criteria), [criteria]);
  const settledCriteria = useDebounced(criteriaBody, 300);
  const audience = useQuery<{ count: number; capped: boolean }, Error>({
    queryKey: ['audience-count', settledCriteria],
    queryFn: ({ signal }) => request<{ count: number; capped: boolean }>('POST', '/api/campaigns/audience-count', { body: { criteria: settledCriteria }, signal }).then((r) => r.data),
    placeholderData: keepPreviousData,
    retry: false,
  });
  const audienceErrors = audience.error instanceof ApiError ? audience.error.fieldErrors : {};

  const setStep = (key: number, change: Partial<StepDraft>) => setSteps((all) => all.map((s) => (s.key === key ? { ...s, ...change } : s)));
  const pickTemplate = (key: number, value: string) => {
    const tpl = value ? byId.get(Number(value)) : undefined;
    setStep(key, tpl ? { templateId: tpl.template_id, subject: tpl.subject, text_body: tpl.text_body ?? '', html: tpl.html ?? '' } : { templateId: null });
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setErrors({});
    setFormError(null);
    setSaving(true);
    const found: Record<string, string> = {};
    try {
      // a changed or new template is saved as a new one: campaigns sharing the old one keep it as it was
      const templateIds: (number | null)[] = [];
      for (const [i, s] of steps.entries()) {
        const tpl = s.templateId === null ? undefined : byId.get(s.templateId);
        if (tpl && !changed(s, tpl)) { templateIds.push(tpl.template_id); continue; }
        try {
          const { data } = await request<Template>('POST', '/api/templates', {
            body: { name: `${name.trim() || 'Campaign'} · step ${i + 1}`, subject: s.subject, text_body: s.text_body || null, html: s.html || null },
          });
          templateIds.push(data.template_id);
          setStep(s.key, { templateId: data.template_id });
        } catch (err) {
          if (!(err instanceof ApiError) || err.status !== 400) throw err;
          for (const [field, message] of Object.entries(err.fieldErrors)) found[`steps[${i}].${field === 'name' ? 'subject' : field}`] = message;
          templateIds.push(null);
        }
      }
      if (Object.keys(found).length) { setErrors(found); setFormError('A step\'s template has problems: see the messages next to its fields.'); return; }
      const body = {
        name, from_email: fromEmail, from_name: fromName.trim() || null, reply_to: replyTo.trim() || null, time_zone: timeZone,
        rate_per_minute: Number.isFinite(Number(rate)) && rate.trim() ? Number(rate) : rate,
        window: windowOn ? { days: windowDays, start: windowStart, end: windowEnd } : null,
        criteria: criteriaBody,
        steps: steps.map((s, i) => ({ template_id: templateIds[i], ...(delayOf(s) ? { delay: delayOf(s) } : {}) })),
      };
      const { data } = campaign
        ? await request<Campaign>('PATCH', `/api/campaigns/${campaign.campaign_id}`, { body })
        : await request<Campaign>('POST', '/api/campaigns', { body });
      await queryClient.invalidateQueries({ queryKey: ['templates'] });
      await queryClient.invalidateQueries({ queryKey: ['campaigns'] });
      queryClient.setQueryData(['campaign', String(data.campaign_id)], data);
      navigate(`/campaigns/${data.campaign_id}`);
    } catch (err) {
      if (err instanceof ApiError) { setErrors(err.fieldErrors); setFormError(err.message); } else setFormError((err as Error).message);
    } finally {
      setSaving(false);
    }
  };

  const err = (field: string) => errors[field];
  const critErr = (k: string) => errors[`criteria.${k}`] ?? audienceErrors[`criteria.${k}`];
  const text = (idName: string, label: string, value: string, set: (v: string) => void, field: string, type = 'text', hint?: string) => (
    <Field id={idName} label={label} error={err(field)} hint={hint}>
      <input type={type} value={value} onChange={(e) => set(e.target.value)} {...described(idName, err(field), Boolean(hint))} />
    </Field>
  );

  return (
    <section>
      <p><Link to={campaign ? `/campaigns/${campaign.campaign_id}` : '/campaigns'}>← {campaign ? campaign.name : 'Campaigns'}</Link></p>
      <h1>{campaign ? `Edit ${campaign.name}` : 'New campaign'}</h1>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <div className="form-grid">
          {text('c-name', 'Name', name, setName, 'name')}
          {text('c-from-email', 'From email', fromEmail, setFromEmail, 'from_email', 'email')}
          {text('c-from-name', 'From name', fromName, setFromName, 'from_name')}
          {text('c-reply-to', 'Reply-to', replyTo, setReplyTo, 'reply_to', 'email')}
        </div>

        <h2>Steps</h2>
        <PreviewContactPicker value={previewContact} onChange={setPreviewContact} onLabel={setPreviewLabel} />
        {steps.map((s, i) => (
          <StepEditor
            key={s.key} index={i} step={s} templates={templates} contactId={previewContact} contactLabel={previewLabel} errors={errors}
            onChange={(change) => setStep(s.key, change)} onPick={(v) => pickTemplate(s.key, v)}
            onRemove={steps.length > 1 ? () => setSteps((all) => all.filter((x) => x.key !== s.key)) : undefined}
          />
        ))}
        {err('steps') && <p className="error">{err('steps')}</p>}
        <button type="button" className="secondary" onClick={() => setSteps((all) => [...all, blankStep('3')])} disabled={steps.length >= 20}>Add a step</button>

        <h2>Sending</h2>
        <div className="form-grid">
          <Field id="c-tz" label="Time zone" error={err('time_zone')} hint="The sending window is in this zone.">
            <input list="time-zones" value={timeZone} onChange={(e) => setTimeZone(e.target.value)} {...described('c-tz', err('time_zone'), true)} />
          </Field>
          <datalist id="time-zones">{timeZones().map((z) => <option key={z} value={z} />)}</datalist>
          {text('c-rate', 'Messages per minute', rate, setRate, 'rate_per_minute', 'number', 'The throttle across the whole campaign.')}
        </div>
        <fieldset className="card">
          <legend>Sending window</legend>
          <label className="inline"><input type="checkbox" checked={windowOn} onChange={(e) => setWindowOn(e.target.checked)} /> Only send inside a window</label>
          {windowOn && (
            <>
              <div className="days" role="group" aria-label="Days">
                {DAYS.map((d, i) => (
                  <label key={d} className="inline">
                    <input type="checkbox" checked={windowDays.includes(i + 1)}
                      onChange={(e) => setWindowDays((all) => (e.target.checked ? [...all, i + 1].sort() : all.filter((x) => x !== i + 1)))} /> {d}
                  </label>
                ))}
              </div>
              {err('window.days') && <p className="error">{err('window.days')}</p>}
              <div className="form-grid">
                {text('c-win-start', 'From', windowStart, setWindowStart, 'window.start', 'time')}
                {text('c-win-end', 'Until', windowEnd, setWindowEnd, 'window.end', 'time')}
              </div>
            </>
          )}
        </fieldset>

        <h2>Audience</h2>
        <p className="muted">Active contacts, not suppressed, scoring at least 80 unless a minimum score is given.</p>
        <div className="form-grid">
          {(Object.keys(CRITERIA_LABELS) as (keyof CriteriaForm)[]).filter((k) => k !== 'new_since_last_run').map((k) => {
            const idName = `crit-${k}`;
            const list = (CRITERIA_LISTS as readonly string[]).includes(k);
            const number = (CRITERIA_NUMBERS as readonly string[]).includes(k);
            return (
              <Field key={k} id={idName} label={CRITERIA_LABELS[k]} error={critErr(k)} hint={list ? 'Comma-separated' : undefined}>
                <input type={k === 'created_after' ? 'datetime-local' : number ? 'number' : 'text'} value={criteria[k]}
                  onChange={(e) => setCriteria((x) => ({ ...x, [k]: e.target.value }))} {...described(idName, critErr(k), list)} />
              </Field>
            );
          })}
        </div>
        <label className="inline"><input type="checkbox" checked={criteria.new_since_last_run} onChange={(e) => setCriteria((x) => ({ ...x, new_since_last_run: e.target.checked }))} /> {CRITERIA_LABELS.new_since_last_run}</label>
        <p className="audience-count">
          <output aria-live="polite" aria-label="Matching contacts" data-testid="audience-count">
            {audience.isPending ? 'Counting…' : audience.isError ? 'Fix the criteria to see the count' : `${num(audience.data?.count)}${audience.data?.capped ? '+' : ''} matching contacts`}
          </output>
          {audience.isFetching && !audience.isPending && <span className="muted"> (updating)</span>}
        </p>

        {formError && <p role="alert" className="error">{formError}</p>}
        <div className="actions">
          <button type="submit" disabled={saving}>{campaign ? 'Save changes' : 'Create campaign'}</button>
          <Link className="button secondary" to={campaign ? `/campaigns/${campaign.campaign_id}` : '/campaigns'}>Cancel</Link>
        </div>
      </form>
    </section>
  );
}

let zones: string[] | null = null;
function timeZones(): string[] {
  zones ??= (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.('timeZone') ?? ['UTC'];
  return zones;
}

/** Which contact the live previews render for: a search by name or email (the API's word search), or a sample contact. */
function PreviewContactPicker({ value, onChange, onLabel }: { value: number | null; onChange: (id: number | null) => void; onLabel: (label: string | null) => void }) {
  const [q, setQ] = useState('');
  const settled = useDebounced(q.trim(), 250);
  const found = useQuery({
    queryKey: ['preview-contacts', settled],
    queryFn: ({ signal }) => get<ContactPage>(`/api/contacts${qs({ q: settled, limit: 10 })}`, signal),
    enabled: settled.length >= 3,
    placeholderData: keepPreviousData,
  });
  const options = settled.length >= 3 ? found.data?.data ?? [] : [];
  const chosen = useRef<Map<number, string>>(new Map());
  for (const c of options) chosen.current.set(c.contact_id, `${c.full_name ?? [c.first_name, c.last_name].filter(Boolean).join(' ')} <${c.email}>`);
  // a search's first match is previewed as soon as it arrives (choosing another, or the sample, then sticks)
  const firstMatch = found.data?.data[0]?.contact_id;
  useEffect(() => { if (firstMatch !== undefined) onChange(firstMatch); }, [found.data, firstMatch, onChange]);
  const label = value === null ? null : chosen.current.get(value) ?? `contact ${value}`;
  useEffect(() => onLabel(label), [label, onLabel]);
  return (
    <div className="filters card">
      <label>Find a contact to preview <input type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="a name or email (3+ characters)" /></label>
      <label>Preview contact
        <select value={value ?? ''} onChange={(e) => onChange(e.target.value ? Number(e.target.value) : null)}>
          <option value="">Sample contact</option>
          {value !== null && !options.some((o) => o.contact_id === value) && <option value={value}>{chosen.current.get(value) ?? `Contact ${value}`}</option>}
          {options.map((o) => <option key={o.contact_id} value={o.contact_id}>{chosen.current.get(o.contact_id)}</option>)}
        </select>
      </label>
      {found.isError && <p role="alert" className="error">{found.error.message}</p>}
      {settled.length >= 3 && found.data && options.length === 0 && <p className="muted">No contact matches “{settled}”.</p>}
    </div>
  );
}

function StepEditor({ index, step, templates, contactId, contactLabel, errors, onChange, onPick, onRemove }: {
  index: number; step: StepDraft; templates: Template[]; contactId: number | null; contactLabel: string | null; errors: Record<string, string>;
  onChange: (c: Partial<StepDraft>) => void; onPick: (templateId: string) => void; onRemove?: () => void;
}) {
  const n = index + 1;
  const draft = useMemo(() => ({ subject: step.subject, text_body: step.text_body || null, html: step.html || null }), [step.subject, step.text_body, step.html]);
  const settled = useDebounced(draft, 350);
  const ready = settled.subject.length > 0 && (settled.text_body !== null || settled.html !== null);
  const preview = useQuery<Preview, Error>({
    queryKey: ['draft-preview', settled, contactId],
    queryFn: ({ signal }) => request<Preview>('POST', '/api/templates/preview', { body: { ...settled, ...(contactId ? { contact_id: contactId } : {}) }, signal }).then((r) => r.data),
    enabled: ready,
    placeholderData: keepPreviousData,
    retry: false,
  });
  const live = preview.error instanceof ApiError ? preview.error.fieldErrors : {};
  const fieldErr = (f: 'subject' | 'text_body' | 'html') => errors[`steps[${index}].${f}`] ?? live[f];
  const id = (f: string) => `s${step.key}-${f}`;
  const delayErr = errors[`steps[${index}].delay.days`] ?? errors[`steps[${index}].delay.hours`] ?? errors[`steps[${index}].delay.minutes`];
  const previewFailed = preview.isError && !Object.keys(live).some((k) => ['subject', 'text_body', 'html'].includes(k));
  return (
    <fieldset className="card step">
      <legend>Step {n}</legend>
      <div className="form-grid">
        <Field id={id('tpl')} label="Start from template" error={errors[`steps[${index}].template_id`]}>
          <select value={step.templateId ?? ''} onChange={(e) => onPick(e.target.value)} {...described(id('tpl'), errors[`steps[${index}].template_id`])}>
            <option value="">New template</option>
            {templates.map((t) => <option key={t.template_id} value={t.template_id}>{t.name} (#{t.template_id})</option>)}
          </select>
        </Field>
        <div className="field" role="group" aria-label={`Wait before step ${n}`}>
          <span className="label">{index === 0 ? 'Wait after start' : 'Wait after the previous step'}</span>
          <div className="delay">
            {(['days', 'hours', 'minutes'] as const).map((k) => (
              <label key={k} className="inline"><input type="number" min={0} value={step[k]} onChange={(e) => onChange({ [k]: e.target.value })} aria-invalid={delayErr ? true : undefined} /> {k}</label>
            ))}
          </div>
          {delayErr && <span className="error">{delayErr}</span>}
        </div>
      </div>
      <div className="editor">
        <div className="editor-fields">
          <Field id={id('subject')} label="Subject" error={fieldErr('subject')}>
            <input value={step.subject} onChange={(e) => onChange({ subject: e.target.value })} {...described(id('subject'), fieldErr('subject'))} />
          </Field>
          <Field id={id('text')} label="Text body" error={fieldErr('text_body')} hint="Liquid: {{ contact.first_name }}, {{ contact.company_name }}, {{ unsubscribe_url }} …">
            <textarea rows={7} value={step.text_body} onChange={(e) => onChange({ text_body: e.target.value })} {...described(id('text'), fieldErr('text_body'), true)} />
          </Field>
          <Field id={id('html')} label="HTML body" error={fieldErr('html')} hint="Optional; links are tracked.">
            <textarea rows={5} value={step.html} onChange={(e) => onChange({ html: e.target.value })} {...described(id('html'), fieldErr('html'), true)} />
          </Field>
        </div>
        <div className="preview" role="region" aria-label={`Preview of step ${n}`} aria-busy={preview.isFetching}>
          <h3>Preview for {contactId && contactLabel ? contactLabel : 'a sample contact'}</h3>
          {!ready ? <p className="muted">Write a subject and a body to see it rendered.</p>
            : previewFailed ? <p className="error">{preview.error?.message}</p>
            : preview.data ? (
              <div className={preview.isError ? 'stale' : undefined}>
                {preview.isError && <p className="muted">Showing the last version that rendered.</p>}
                <p><strong>Subject:</strong> <span data-testid={`preview-subject-${n}`}>{preview.data.subject}</span></p>
                {preview.data.text && <pre className="preview-text">{preview.data.text}</pre>}
                {preview.data.html && <iframe title={`HTML preview of step ${n}`} sandbox="" srcDoc={preview.data.html} className="preview-html" />}
              </div>
            ) : preview.isError ? <p className="muted">Fix the template to see it rendered.</p> : <Skeleton rows={2} />}
        </div>
      </div>
      {onRemove && <button type="button" className="secondary" onClick={onRemove}>Remove step {n}</button>}
    </fieldset>
  );
}
