// A real IMAP server for the mailbox tests: Debian's Dovecot (`apt-get install -y -qq
// dovecot-imapd`; .ci/run installs it when missing) on a free port, with a throwaway config,
// passwords and Maildirs in a temp folder, in the foreground under this process. As root it runs
// with Dovecot's own unprivileged users (dovecot, dovenull); as anyone else, as that user.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import { freePort } from '../../scripts/ports';
import type { MailboxSettings } from '../../common/config';

export interface DovecotUser {
  user: string;
  password: string;
}

export interface Dovecot {
  port: number;
  /** IMAP_URL of the user's INBOX (plain IMAP on 127.0.0.1). */
  url(user: string): string;
  /** The parsed settings of url(user), as a worker's config has them (another folder than INBOX if given). */
  settings(user: string, folder?: string): MailboxSettings;
  /** Delivers raw messages into the user's folder (IMAP APPEND); their UIDs. */
  deliver(user: string, messages: (string | Buffer)[], folder?: string): Promise<number[]>;
  /** An IMAP session of the user, for looking at what the server has. */
  session<T>(user: string, fn: (client: ImapFlow) => Promise<T>): Promise<T>;
  stop(): Promise<void>;
}

export function dovecotPath(): string {
  const candidates = [process.env.DOVECOT_PATH, '/usr/sbin/dovecot', '/usr/local/sbin/dovecot'].filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error('Dovecot is not installed: apt-get install -y -qq dovecot-imapd (or set DOVECOT_PATH)');
  return found;
}

const idOf = (flag: '-u' | '-g', name: string) => Number(spawnSync('id', [flag, name], { encoding: 'utf8' }).stdout.trim());

export async function startDovecot(users: DovecotUser[]): Promise<Dovecot> {
  const binary = dovecotPath();
  const version = spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout.trim();
  if (!/^2\.3\./.test(version)) throw new Error(`test/support/dovecot.ts writes a Dovecot 2.3 config; found ${version || 'no version'} at ${binary}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'barton-dovecot-'));
  const root = process.getuid?.() === 0;
  // As root, login processes run as dovenull and must reach base_dir; mail belongs to the dovecot user.
  const me = os.userInfo().username;
  const myGroup = spawnSync('id', ['-gn'], { encoding: 'utf8' }).stdout.trim();
  const internal = root ? { user: 'dovecot', group: 'dovecot', login: 'dovenull' } : { user: me, group: myGroup, login: me };
  chmodSync(dir, 0o755);
  mkdirSync(path.join(dir, 'mail'));
  if (root) chownSync(path.join(dir, 'mail'), idOf('-u', internal.user), idOf('-g', internal.group));
  const port = await freePort();
  writeFileSync(path.join(dir, 'users'), users.map((u) => `${u.user}:{PLAIN}${u.password}\n`).join(''), { mode: 0o644 });
  writeFileSync(path.join(dir, 'dovecot.conf'), `# throwaway test server (test/support/dovecot.ts)
protocols = imap
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:${dir}/mail/%u
first_valid_uid = 1
default_internal_user = ${internal.user}
default_internal_group = ${internal.group}
default_login_user = ${internal.login}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/users
}
userdb {
  driver = static
  args = uid=${internal.user} gid=${internal.group} home=${dir}/mail/%u
}
service imap-login {
  ${root ? '' : 'chroot ='}
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
${root ? '' : 'service anvil {\n  chroot =\n}'}
`);
  const log = () => (existsSync(path.join(dir, 'dovecot.log')) ? readFileSync(path.join(dir, 'dovecot.log'), 'utf8') : '');
  const child: ChildProcess = spawn(binary, ['-F', '-c', path.join(dir, 'dovecot.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const deadline = Date.now() + 20_000;
  while (!(await greets(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`Dovecot did not start (exit ${child.exitCode}): ${output}\n${log()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  const passwordOf = (user: string) => {
    const u = users.find((x) => x.user === user);
    if (!u) throw new Error(`no such test mailbox user: ${user}`);
    return u.password;
  };
  const session = async <T>(user: string, fn: (client: ImapFlow) => Promise<T>): Promise<T> => {
    const client = new ImapFlow({ host: '127.0.0.1', port, secure: false, doSTARTTLS: false, auth: { user, pass: passwordOf(user) }, logger: false });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.logout().catch(() => client.close());
    }
  };
  return {
    port,
    url: (user) => `imap://${encodeURIComponent(user)}:${encodeURIComponent(passwordOf(user))}@127.0.0.1:${port}/INBOX`,
    settings: (user, folder = 'INBOX') => ({ identity: user.toLowerCase(), host: '127.0.0.1', port, secure: false, starttls: 'never', user, pass: passwordOf(user), folder }),
    deliver: (user, messages, folder = 'INBOX') => session(user, async (client) => {
      const uids: number[] = [];
      for (const m of messages) {
        const res = await client.append(folder, typeof m === 'string' ? Buffer.from(m.replace(/\r?\n/g, '\r\n')) : m);
        if (!res || res.uid === undefined) throw new Error('APPEND returned no UID');
        uids.push(res.uid);
      }
      return uids;
    }),
    session,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Whether an IMAP server on the port sends its greeting. */
function greets(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('data', (d) => done(d.toString().startsWith('* OK')));
    socket.once('error', () => done(false));
  });
}
