// Liquid message templates: strict variables, checked at save, rendered per contact at send.
// Templates come from API callers and render with imported contact data, so they are sandboxed:
// no file system (include/render/layout are refused) and bounded time, memory and output.
// In the HTML part every output is HTML-escaped, and only links written in the template itself
// are tracked: contact data can neither add markup nor get a link signed.
import { randomBytes } from 'node:crypto';
import { CaptureTag, Context, Liquid, toValue, toValueSync, type Emitter, type Template } from 'liquidjs';

export const CONTACT_FIELDS = [
  'contact_id', 'email', 'first_name', 'last_name', 'full_name', 'title', 'company_name', 'company_domain',
  'phone', 'linkedin_url', 'city', 'state', 'country', 'score',
] as const;
/** Every variable a template may use; anything else is refused at save. */
export const TEMPLATE_VARIABLES = [...CONTACT_FIELDS.map((f) => `contact.${f}`), 'campaign.name', 'campaign.id', 'unsubscribe_url'];
const allowed = new Set(TEMPLATE_VARIABLES);

export interface RenderLimits {
  /** Wall-clock milliseconds for one part (subject, html or text). */
  renderMs: number;
  /** liquidjs's allocation count: range sizes, array and string filter lengths. */
  memory: number;
  /** Characters one part may produce. */
  outputChars: number;
}

/** Per part of one message at send time. A normal template renders in well under a millisecond. */
export const SEND_LIMITS: RenderLimits = { renderMs: 1000, memory: 2_000_000, outputChars: 2_000_000 };
/** At save, against a sample contact: tighter, so real contacts' longer values have headroom at send. */
export const SAVE_LIMITS: RenderLimits = { renderMs: 250, memory: 1_000_000, outputChars: 1_000_000 };

const FILE_TAGS = ['include', 'render', 'layout'] as const;

/** Values a template may print unescaped in HTML with `| raw`: the API caller's own, never a contact's. */
const TRUSTED_RAW = (scope: Scope) => [scope.unsubscribe_url, scope.campaign.name, String(scope.campaign.id)];

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' };
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);

function createEngine(html: boolean): Liquid {
  const liquid = new Liquid({
    strictVariables: true, strictFilters: true, cache: false, ownPropertyOnly: true,
    // An empty in-memory store instead of the working directory: nothing can name a file to read.
    templates: {},
    // The API's body schema caps a field at 500,000 characters; this also bounds stored templates.
    parseLimit: 1_000_000,
    // HTML: every {{ }} is escaped unless its last filter is raw (subject and text are not HTML)
    ...(html ? { outputEscape: 'escape' as const } : {}),
  });
  // The file tags are refused when a template is parsed, so they never reach the (empty) store.
  for (const name of FILE_TAGS) {
    liquid.registerTag(name, {
      parse() {
        throw new Error(`"${name}" is not allowed: templates cannot read files`);
      },
      render() {},
    });
  }
  // What a capture builds counts against the memory limit like a filter's result (doubling a capture is otherwise free).
  liquid.registerTag('capture', class extends CaptureTag {
    *render(ctx: Context): Generator<unknown, void, string> {
      yield* super.render(ctx);
      ctx.memoryLimit.use(String(ctx.bottom()[this.variable as never] ?? '').length);
    }
  });
  if (html) {
    // `| raw` skips escaping for trusted fields only: anything else (a contact field, or a value
    // assigned or filtered from one) is escaped all the same.
    liquid.registerFilter('raw', {
      raw: true,
      handler(this: { context: Context }, value: unknown) {
        const s = stringify(value);
        this.context.memoryLimit.use(s.length);
        return TRUSTED_RAW(this.context.environments as Scope).includes(s) ? s : escapeHtml(s);
      },
    });
  }
  return liquid;
}

/** The subject's and the text part's engine. */
export const engine = createEngine(false);
/** The HTML part's engine: output is HTML-escaped. */
export const htmlEngine = createEngine(true);

/** A part that could not be rendered for a contact: a bad template or a limit exceeded. The message fails; nothing retries it. */
export class TemplateRenderError extends Error {
  // The API answers 422 with this message (never a file's content: templates read none).
  readonly statusCode = 422;
  constructor(readonly field: 'subject' | 'html' | 'text_body', message: string) {
    super(`${field}: ${message}`);
    this.name = 'TemplateRenderError';
  }
}

/** Collects output and stops the render once it passes `max` characters (before building the string). */
class BoundedEmitter implements Emitter {
  buffer = '';
  constructor(private readonly max: number) {}
  write(html: unknown) {
    const s = stringify(html);
    if (this.buffer.length + s.length > this.max) throw new Error(`output size limit exceeded (${this.max} characters)`);
    this.buffer += s;
  }
}

function stringify(value: unknown): string {
  const v = toValue(value);
  if (typeof v === 'string') return v;
  if (v == null) return '';
  if (Array.isArray(v)) return v.map(stringify).join('');
  return String(v);
}

const engineFor = (field: TemplateProblem['field']) => (field === 'html' ? htmlEngine : engine);

function renderPart(liquid: Liquid, tpl: Template[], scope: object, limits: RenderLimits): string {
  const ctx = new Context(scope, liquid.options, { sync: true, renderLimit: limits.renderMs, memoryLimit: limits.memory }, { liquid });
  const emitter = new BoundedEmitter(limits.outputChars);
  toValueSync(liquid.renderer.renderTemplates(tpl, ctx, emitter));
  return emitter.buffer;
}

export interface TemplateParts {
  subject: string;
  html?: string | null;
  text_body?: string | null;
}

/** A link written in the HTML template: a literal http(s) URL (as written, entities and all), or {{ unsubscribe_url }}. */
export type TemplateLink = { url: string } | { unsubscribe: true };

export interface CompiledTemplate {
  subject: Template[];
  html?: Template[];
  text?: Template[];
  /**
   * The HTML template's own links. Compiling replaced each href value with `linkMarker` + index;
   * rendering puts the (tracked) link back. The marker is random per compilation, so contact data
   * cannot produce one, and an href that comes out of a variable is never touched.
   */
  links?: TemplateLink[];
  linkMarker?: string;
  /** Set when a stored template no longer parses (e.g. saved before file tags were refused): every render fails with it. */
  error?: TemplateRenderError;
}

export interface TemplateProblem {
  field: 'subject' | 'html' | 'text_body';
  message: string;
}

export type ContactVars = Partial<Record<(typeof CONTACT_FIELDS)[number], string | number | null>>;

export interface RenderContext {
  contact: ContactVars;
  campaign: { id: number; name: string };
  unsubscribe_url: string;
}

/** A plausible contact with every field filled, for the render at save (and a preview without a chosen contact). */
export const SAMPLE_CONTEXT: RenderContext = {
  contact: {
    contact_id: 1234567, email: 'alexandra.montgomery-smith@example-industries.com', first_name: 'Alexandra', last_name: 'Montgomery-Smith',
    full_name: 'Alexandra Montgomery-Smith', title: 'Vice President of Revenue Operations', company_name: 'Example Industries International',
    company_domain: 'example-industries.com', phone: '+1 (555) 010-0199', linkedin_url: 'https://www.linkedin.com/in/alexandra-montgomery-smith',
    city: 'San Francisco', state: 'California', country: 'United States', score: 85,
  },
  campaign: { id: 1234, name: 'Sample campaign' },
  unsubscribe_url: 'https://tracking.example.com/u/eyJzYW1wbGUiOiJ0b2tlbiJ9.c2FtcGxlLXNpZ25hdHVyZQ',
};

/**
 * Parses every part and lists syntax errors, file tags, unknown variables and renders that fail or
 * exceed SAVE_LIMITS for a sample contact, by field.
 */
export function checkTemplate(parts: TemplateParts): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  const parsed: Partial<Record<TemplateProblem['field'], Template[]>> = {};
  for (const field of ['subject', 'html', 'text_body'] as const) {
    const source = parts[field];
    if (source == null) continue;
    const liquid = engineFor(field);
    let templates: Template[];
    try {
      templates = liquid.parse(source);
    } catch (err) {
      problems.push({ field, message: `template syntax: ${(err as Error).message}` });
      continue;
    }
    let unknown: string[];
    try {
      unknown = [...new Set(liquid.globalFullVariablesSync(templates, { partials: false }).filter((v) => !allowed.has(v)))];
    } catch (err) {
      problems.push({ field, message: `template analysis: ${(err as Error).message}` });
      continue;
    }
    for (const v of unknown) problems.push({ field, message: `unknown variable "${v}"` });
    if (!unknown.length) parsed[field] = templates;
  }
  if (/[\r\n]/.test(parts.subject)) problems.push({ field: 'subject', message: 'must not contain CR or LF' });
  const scope = scopeOf(SAMPLE_CONTEXT);
  for (const [field, templates] of Object.entries(parsed) as [TemplateProblem['field'], Template[]][]) {
    try {
      renderPart(engineFor(field), templates, scope, SAVE_LIMITS);
    } catch (err) {
      problems.push({ field, message: `fails to render for a sample contact: ${(err as Error).message}` });
    }
  }
  return problems;
}

// href="…" or href='…' in the template's source
const HREF = /(\bhref\s*=\s*)(["'])(.*?)\2/gis;
const LITERAL_URL = /^https?:\/\/[^\s{}]+$/i;
const UNSUBSCRIBE_OUTPUT = /^\{\{-?\s*unsubscribe_url\s*-?\}\}$/;

/** Replaces the values of the template's own links with markers; other hrefs (from variables) stay as they are. */
function markLinks(html: string, marker: string): { source: string; links: TemplateLink[] } {
  const links: TemplateLink[] = [];
  const source = html.replace(HREF, (whole, attr: string, quote: string, value: string) => {
    const v = value.trim();
    let link: TemplateLink;
    if (LITERAL_URL.test(v)) link = { url: v };
    else if (UNSUBSCRIBE_OUTPUT.test(v)) link = { unsubscribe: true };
    else return whole;
    links.push(link);
    return `${attr}${quote}${marker}${links.length - 1}_${quote}`;
  });
  return { source, links };
}

export function compileTemplate(parts: TemplateParts): CompiledTemplate {
  let field: TemplateProblem['field'] = 'subject';
  try {
    const subject = engine.parse(parts.subject);
    field = 'html';
    const linkMarker = `_lnk${randomBytes(12).toString('hex')}_`;
    const marked = parts.html != null ? markLinks(parts.html, linkMarker) : undefined;
    const html = marked ? htmlEngine.parse(marked.source) : undefined;
    field = 'text_body';
    const text = parts.text_body != null ? engine.parse(parts.text_body) : undefined;
    return { subject, html, text, links: marked?.links, linkMarker };
  } catch (err) {
    return { subject: [], error: new TemplateRenderError(field, `template syntax: ${(err as Error).message}`) };
  }
}

export interface RenderedMessage {
  subject: string;
  html?: string;
  text?: string;
}

type Scope = ReturnType<typeof scopeOf>;

function scopeOf(ctx: RenderContext) {
  return { ...ctx, contact: Object.fromEntries(CONTACT_FIELDS.map((f) => [f, ctx.contact[f] ?? ''])) };
}

export interface RenderOptions {
  /**
   * The href a link of the template gets, from its target URL (entities decoded). Without it
   * links render as written (previews).
   */
  trackLink?: (url: string) => string;
}

/**
 * Renders for one contact under SEND_LIMITS. Missing contact fields render empty (strict mode still
 * refuses unknown names). Throws TemplateRenderError naming the part that failed.
 */
export function renderTemplate(t: CompiledTemplate, ctx: RenderContext, options: RenderOptions = {}): RenderedMessage {
  if (t.error) throw t.error;
  const scope = scopeOf(ctx);
  const part = (field: TemplateProblem['field'], tpl: Template[]) => {
    try {
      return renderPart(engineFor(field), tpl, scope, SEND_LIMITS);
    } catch (err) {
      throw new TemplateRenderError(field, (err as Error).message);
    }
  };
  const linkOf = (link: TemplateLink) => {
    const target = 'url' in link ? link.url.replaceAll('&amp;', '&') : ctx.unsubscribe_url;
    if (options.trackLink) return options.trackLink(target);
    return 'url' in link ? link.url : escapeHtml(ctx.unsubscribe_url);
  };
  let html = t.html ? part('html', t.html) : undefined;
  if (html && t.links?.length) {
    const links = t.links;
    html = html.replace(new RegExp(`${t.linkMarker}(\\d+)_`, 'g'), (_m, i: string) => linkOf(links[Number(i)]));
  }
  return {
    // A contact field must not turn the subject into two header lines.
    subject: part('subject', t.subject).replace(/[\r\n]+/g, ' ').trim(),
    html,
    text: t.text ? part('text_body', t.text) : undefined,
  };
}
