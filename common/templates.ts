// Liquid message templates: strict variables, checked at save, rendered per contact at send.
import { Liquid, type Template } from 'liquidjs';

export const CONTACT_FIELDS = [
  'contact_id', 'email', 'first_name', 'last_name', 'full_name', 'title', 'company_name', 'company_domain',
  'phone', 'linkedin_url', 'city', 'state', 'country', 'score',
] as const;
/** Every variable a template may use; anything else is refused at save. */
export const TEMPLATE_VARIABLES = [...CONTACT_FIELDS.map((f) => `contact.${f}`), 'campaign.name', 'campaign.id', 'unsubscribe_url'];
const allowed = new Set(TEMPLATE_VARIABLES);

export const engine = new Liquid({ strictVariables: true, strictFilters: true, cache: false, ownPropertyOnly: true });

export interface TemplateParts {
  subject: string;
  html?: string | null;
  text_body?: string | null;
}

export interface CompiledTemplate {
  subject: Template[];
  html?: Template[];
  text?: Template[];
}

export interface TemplateProblem {
  field: 'subject' | 'html' | 'text_body';
  message: string;
}

/** Parses every part and lists unknown variables and syntax errors, by field. */
export function checkTemplate(parts: TemplateParts): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  for (const field of ['subject', 'html', 'text_body'] as const) {
    const source = parts[field];
    if (source == null) continue;
    let parsed: Template[];
    try {
      parsed = engine.parse(source);
    } catch (err) {
      problems.push({ field, message: `template syntax: ${(err as Error).message}` });
      continue;
    }
    try {
      const unknown = engine.globalFullVariablesSync(parsed).filter((v) => !allowed.has(v));
      for (const v of [...new Set(unknown)]) problems.push({ field, message: `unknown variable "${v}"` });
    } catch (err) {
      problems.push({ field, message: `template analysis: ${(err as Error).message}` });
    }
  }
  if (/[\r\n]/.test(parts.subject)) problems.push({ field: 'subject', message: 'must not contain CR or LF' });
  return problems;
}

export function compileTemplate(parts: TemplateParts): CompiledTemplate {
  return {
    subject: engine.parse(parts.subject),
    html: parts.html != null ? engine.parse(parts.html) : undefined,
    text: parts.text_body != null ? engine.parse(parts.text_body) : undefined,
  };
}

export type ContactVars = Partial<Record<(typeof CONTACT_FIELDS)[number], string | number | null>>;

export interface RenderContext {
  contact: ContactVars;
  campaign: { id: number; name: string };
  unsubscribe_url: string;
}

export interface RenderedMessage {
  subject: string;
  html?: string;
  text?: string;
}

/** Renders for one contact. Missing contact fields render empty (strict mode still refuses unknown names). */
export function renderTemplate(t: CompiledTemplate, ctx: RenderContext): RenderedMessage {
  const contact = Object.fromEntries(CONTACT_FIELDS.map((f) => [f, ctx.contact[f] ?? '']));
  const scope = { ...ctx, contact };
  return {
    // A contact field must not turn the subject into two header lines.
    subject: String(engine.renderSync(t.subject, scope)).replace(/[\r\n]+/g, ' ').trim(),
    html: t.html ? String(engine.renderSync(t.html, scope)) : undefined,
    text: t.text ? String(engine.renderSync(t.text, scope)) : undefined,
  };
}
