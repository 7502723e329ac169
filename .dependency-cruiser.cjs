// npm run lint: the layering of issue 9 ("one home for each concern"), checked on every import.
// `import type` (dependency type "type-only", seen thanks to tsPreCompilationDeps) is allowed
// where a rule says so: it is erased at compile time and creates no runtime dependency.
const OURS = '^(activities|api|bench|clients|common|contracts|db|mcp|scripts|test|worker|workflows)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'workflows-no-node-builtins',
      severity: 'error',
      comment: 'Workflow code runs in the deterministic sandbox: no Node builtins (fs, crypto, ...). Do I/O in an activity.',
      from: { path: '^workflows/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'workflows-only-contracts-and-temporal',
      severity: 'error',
      comment:
        'Workflows import only contracts/, @temporalio/workflow (and @temporalio/common) and other workflows; ' +
        'activities only with `import type`. Anything else would be bundled into the sandbox.',
      from: { path: '^workflows/' },
      to: {
        pathNot: ['^(workflows|contracts)/', '^activities/', 'node_modules/@temporalio/(workflow|common|interceptors-opentelemetry)/'],
        dependencyTypesNot: ['core'],
      },
    },
    {
      name: 'workflows-only-types-from-activities',
      severity: 'error',
      comment: 'Workflows call activities through proxyActivities<typeof ...>: `import type` only.',
      from: { path: '^workflows/' },
      to: { path: '^activities/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-value-imports-of-workflows',
      severity: 'error',
      comment:
        'Workflow code is loaded only by the worker\'s bundle (worker/worker.ts names workflows/index.ts by path). ' +
        'Ids, types, signals and queries live in contracts/; `import type` from workflows/ is fine.',
      from: { pathNot: '^workflows/' },
      to: { path: '^workflows/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'clients-only-common-and-contracts',
      severity: 'error',
      comment: 'clients/ talk to the outside world; of our code they may use only common/ and contracts/.',
      from: { path: '^clients/' },
      to: { path: OURS, pathNot: '^(clients|common|contracts)/' },
    },
    {
      name: 'common-and-contracts-are-leaves',
      severity: 'error',
      comment: 'common/ and contracts/ are pure: of our code they import only each other.',
      from: { path: '^(common|contracts)/' },
      to: { path: OURS, pathNot: '^(common|contracts)/' },
    },
    {
      name: 'db-below-api-activities-workflows-mcp',
      severity: 'error',
      comment: 'db/ holds the SQL (one repository per domain); it must not reach up into its callers.',
      from: { path: '^db/' },
      to: { path: '^(api|activities|workflows|mcp)/' },
    },
    {
      name: 'api-not-to-activities',
      severity: 'error',
      comment: 'Route handlers call db/ repositories (and start workflows through the Temporal client), never activities.',
      from: { path: '^api/' },
      to: { path: '^activities/' },
    },
    {
      name: 'api-not-to-mcp',
      severity: 'error',
      comment:
        'MCP is built on the API, not the other way round. Only the entry point api/server.ts composes the two ' +
        '(it mounts mcp/http.ts after buildApp).',
      from: { path: '^api/', pathNot: '^api/server\\.ts$' },
      to: { path: '^mcp/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle means two modules are one concern, or one of them is in the wrong layer.',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.d.ts', '.js', '.cjs', '.mjs', '.json'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
