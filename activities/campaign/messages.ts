// Message building: compiled step templates (cached per worker), rendering, and the tracking
// the HTML gets (signed click redirects, open pixel, a hidden honeypot link) and the unsubscribe headers.
import { compileTemplate, renderTemplate, type CompiledTemplate, type ContactVars } from '../../common/templates';
import { signTrackingToken } from '../../common/tracking-tokens';
import type { OutboundMessage } from '../../clients/mailer';
import type { StepTemplate } from '../../db/templates';
import type { SenderCampaign } from '../../db/outreach';

export interface MessageSettings {
  trackingSecret: string;
  /** Where the tracking and unsubscribe links point (the API's public address). */
  publicBaseUrl: string;
}

/** Everything of a message but its envelope (from, to). */
export type BuiltMessage = Omit<OutboundMessage, 'from' | 'to'>;

// Compilations kept per worker before the cache starts over.
const CACHE_LIMIT = 1000;

export function createMessageBuilder(settings: MessageSettings) {
  const base = settings.publicBaseUrl.replace(/\/$/, '');
  const secret = settings.trackingSecret;
  // keyed by template id and version: an edited template compiles afresh
  const cache = new Map<string, CompiledTemplate>();

  return {
    /** Each step's compiled template, by step number. */
    compileSteps(steps: StepTemplate[]): Map<number, CompiledTemplate> {
      const map = new Map<number, CompiledTemplate>();
      for (const r of steps) {
        const key = `${r.template_id}:${new Date(r.updated_at).getTime()}`;
        let compiled = cache.get(key);
        if (!compiled) {
          compiled = compileTemplate(r);
          if (cache.size > CACHE_LIMIT) cache.clear();
          cache.set(key, compiled);
        }
        map.set(r.step_no, compiled);
      }
      return map;
    },

    /**
     * Renders one send: the template's own links through the signed redirect (never a link that
     * came out of contact data), a honeypot link for link scanners, an open pixel, one-click unsubscribe.
     */
    build(template: CompiledTemplate, contact: ContactVars & { message_id: string }, k: SenderCampaign, outreachId: number, domain: string): BuiltMessage {
      const unsubscribeToken = signTrackingToken(secret, { purpose: 'unsubscribe', outreachId });
      const unsubscribeUrl = `${base}/u/${unsubscribeToken}`;
      const rendered = renderTemplate(
        template,
        { contact, campaign: { id: Number(k.campaign_id), name: k.name }, unsubscribe_url: unsubscribeUrl },
        { trackLink: (url) => `${base}/t/c/${signTrackingToken(secret, { purpose: 'click', outreachId, url })}` },
      );
      let html = rendered.html;
      if (html) {
        const pixel = `<img src="${base}/t/o/${signTrackingToken(secret, { purpose: 'open', outreachId })}.gif" width="1" height="1" alt="">`;
        // A honeypot: a tracked link no reader can see or reach (hidden, out of the tab order and
        // the accessibility tree). Link scanners follow every href; a click on it is a bot's.
        const trap = `${base}/t/c/${signTrackingToken(secret, { purpose: 'click', outreachId, url: `https://${domain}/`, honeypot: true })}`;
        const honeypot = `<div style="display:none;max-height:0;overflow:hidden;mso-hide:all" aria-hidden="true"><a href="${trap}" tabindex="-1">&#8203;</a></div>`;
        const tail = `${honeypot}${pixel}`;
        html = /<\/body>/i.test(html) ? html.replace(/<\/body>/i, `${tail}</body>`) : html + tail;
      }
      return {
        subject: rendered.subject,
        html,
        text: rendered.text,
        replyTo: k.reply_to ?? undefined,
        messageId: contact.message_id,
        headers: {
          // RFC 2369 + RFC 8058: mail clients show an unsubscribe button that POSTs to the https URL.
          'List-Unsubscribe': `<mailto:unsubscribe@${domain}?subject=unsubscribe%20${unsubscribeToken}>, <${unsubscribeUrl}>`,
          'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
          'X-Campaign-Id': String(k.campaign_id),
        },
      };
    },
  };
}

export type MessageBuilder = ReturnType<typeof createMessageBuilder>;
