// npm start builds the web app (web/ → web/dist) when its build is missing or older than its sources.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

function newestMtime(p: string): number {
  const st = statSync(p, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...readdirSync(p).map((name) => newestMtime(path.join(p, name))));
}

/** Whether web/dist is missing or older than any web source (src/, index.html, vite.config.ts). */
export function webBuildIsStale(root: string): boolean {
  const built = statSync(path.join(root, 'web/dist/index.html'), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const sources = Math.max(...['web/src', 'web/index.html', 'web/vite.config.ts'].map((p) => newestMtime(path.join(root, p))));
  return built === 0 || sources > built;
}

export function ensureWebBuild(root: string): void {
  if (!webBuildIsStale(root)) return;
  console.log('web app: building web/dist (its build is missing or older than web/)…');
  execFileSync('npm', ['run', '--silent', 'build:web'], { cwd: root, stdio: 'inherit' });
}

// npm's prepare (npm ci / npm install): build unless web/ is not there yet (the Docker image
// installs before it copies the sources, then runs npm run build:web itself)
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const root = path.resolve(import.meta.dirname, '..');
  if (statSync(path.join(root, 'web/index.html'), { throwIfNoEntry: false })) ensureWebBuild(root);
  else console.log('web app: no web/ sources here yet, not building');
}
