// Who opened or clicked: a person, or a machine acting on the message (a mail proxy fetching
// images, a link scanner following every link). Decided from the user agent's class and the time
// since the send; the caller keeps the class and the verdict, never the address it came from.

/** The user agent's class, as stored in marketing.engagement_events.agent_class. */
export type AgentClass =
  | 'apple_mpp'    // Apple Mail Privacy Protection: prefetches every image through Apple's proxies
  | 'gmail_proxy'  // Gmail's image proxy (GoogleImageProxy)
  | 'yahoo_proxy'  // Yahoo Mail's image proxy
  | 'scanner'      // link scanners, security gateways, HTTP libraries, crawlers, headless browsers
  | 'mail_client'  // a desktop mail client fetching images itself (Outlook, Thunderbird, …)
  | 'browser'      // a web browser or webmail in one
  | 'none'         // no User-Agent header at all
  | 'other';

export type Verdict = 'human' | 'machine' | 'bot';

/** Agents that fetch images without a person looking: every open from them is a machine open. */
export const IMAGE_PROXIES: readonly AgentClass[] = ['apple_mpp', 'gmail_proxy', 'yahoo_proxy'];

/** An open this soon after the send was fetched on delivery (a proxy's prefetch, a gateway's scan). */
export const MACHINE_OPEN_SECONDS = 5;
/** Link scanners click everything about 12 s after delivery; people take longer. */
export const BOT_CLICK_SECONDS = 15;

const SCANNER = new RegExp(
  [
    'bot\\b', 'crawl', 'spider', 'slurp', 'scan', 'preview', 'headless', 'phantomjs', 'puppeteer', 'playwright',
    'python-requests', 'python-urllib', 'aiohttp', 'curl/', 'wget', 'go-http-client', 'java/', 'okhttp', 'apache-httpclient',
    'libwww', 'httpclient', 'axios', 'node-fetch', 'undici', 'got ', 'ruby', 'perl', 'facebookexternalhit', 'linkexpander',
    'barracuda', 'mimecast', 'proofpoint', 'symantec', 'forcepoint', 'trendmicro', 'sophos', 'fortiguard', 'cisco',
    'safelinks', 'urldefense', 'ironport', 'zscaler', 'checkpoint', 'microsoft office existence discovery',
  ].join('|'),
  'i',
);
const MAIL_CLIENT = /thunderbird|microsoft outlook|ms-office|microsoft office|outlook-ios|outlook-android|airmail|spark|postbox|mailbird|emclient|evolution/i;
const BROWSER = /^mozilla\/5\.0 \(.+\) .*(applewebkit|gecko|trident)/i;
/** Apple's proxies send this and nothing more; Apple Mail itself sends a full WebKit string. */
const APPLE_MPP_AGENT = /^mozilla\/5\.0$/i;
/** Apple's egress addresses (17.0.0.0/8): a WebKit mail agent coming from there is the MPP proxy. */
const APPLE_MAIL_AGENT = /^mozilla\/5\.0 \((macintosh|iphone|ipad).*applewebkit\/[\d.]+ \(khtml, like gecko\)( mobile\/\w+)?$/i;

/**
 * The class of a user agent. `clientIp` only helps tell Apple's proxy (17.0.0.0/8) from Apple Mail
 * fetching images itself; it is used here and never stored.
 */
export function classifyAgent(userAgent: string | undefined, clientIp?: string): AgentClass {
  const ua = (userAgent ?? '').trim();
  if (!ua) return 'none';
  if (APPLE_MPP_AGENT.test(ua)) return 'apple_mpp';
  if (/googleimageproxy|ggpht\.com/i.test(ua)) return 'gmail_proxy';
  if (/yahoomailproxy/i.test(ua)) return 'yahoo_proxy';
  if (APPLE_MAIL_AGENT.test(ua) && clientIp !== undefined && isAppleAddress(clientIp)) return 'apple_mpp';
  if (SCANNER.test(ua)) return 'scanner';
  if (MAIL_CLIENT.test(ua)) return 'mail_client';
  if (BROWSER.test(ua) || APPLE_MAIL_AGENT.test(ua)) return 'browser';
  return 'other';
}

function isAppleAddress(ip: string): boolean {
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  return /^17\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/**
 * An open: `machine` from an image proxy, a scanner, an agent-less fetch, or within
 * MACHINE_OPEN_SECONDS of the send (null seconds: the send is not even confirmed yet).
 */
export function openVerdict(agent: AgentClass, secondsAfterSend: number | null): Verdict {
  if (IMAGE_PROXIES.includes(agent) || agent === 'scanner' || agent === 'none') return 'machine';
  if (secondsAfterSend === null || secondsAfterSend < MACHINE_OPEN_SECONDS) return 'machine';
  return 'human';
}

/**
 * A click: `bot` on the hidden honeypot link (no person can see it), from a scanner or an
 * agent-less request, or within BOT_CLICK_SECONDS of the send. Image proxies never click.
 */
export function clickVerdict(agent: AgentClass, secondsAfterSend: number | null, honeypot = false): Verdict {
  if (honeypot || agent === 'scanner' || agent === 'none') return 'bot';
  if (secondsAfterSend === null || secondsAfterSend < BOT_CLICK_SECONDS) return 'bot';
  return 'human';
}
