// npm start's tracking secret when TRACKING_SECRET is unset: random per install, kept under .data/ so
// links in mail already sent keep working across restarts, and never the public development default.
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export function localTrackingSecret(dataDir: string): string {
  const file = path.join(dataDir, 'tracking-secret');
  try {
    const saved = readFileSync(file, 'utf8').trim();
    if (saved.length >= 16) return saved; // the config schema's minimum
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  chmodSync(file, 0o600); // mode applies only when the file is created
  return secret;
}
