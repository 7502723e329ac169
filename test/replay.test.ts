// Histories recorded from real ingest and promote runs must replay on the current workflow code:
// a change that would break running workflows fails here (then guard it with patched()). The bundle
// holds the OpenTelemetry workflow interceptors (test/support/global-setup.ts bundles them as every
// worker does), so this also proves they change no recorded history.
import { readdirSync, readFileSync } from 'node:fs';
import { expect, inject, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { workerInterceptorOptions } from '../worker/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';

const dir = new URL('./histories/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'workflow-ids.json').sort();
// the id each history ran under (workflows derive child ids from their own)
const workflowIds: Record<string, string> = JSON.parse(readFileSync(new URL('workflow-ids.json', dir), 'utf8'));

it('has recorded histories of every lifecycle', () => {
  const types = files.map((f) => {
    const history = JSON.parse(readFileSync(new URL(f, dir), 'utf8'));
    return history.events[0].workflowExecutionStartedEventAttributes.workflowType.name;
  });
  expect(new Set(types)).toEqual(new Set(['ingestBatchWorkflow', 'promoteContactsWorkflow', 'campaignWorkflow', 'enrichContactsWorkflow', 'enrichProviderBranchWorkflow', 'mailboxWorkflow']));
});

it('replays with the OpenTelemetry workflow interceptors in the bundle', () => {
  const bundle = readFileSync(inject('workflowBundlePath'), 'utf8');
  expect(bundle).toContain('workflows/interceptors.ts');
  expect(bundle).toContain('OpenTelemetryInboundInterceptor');
});

it.each(files)('replays %s without nondeterminism', async (file) => {
  const history = historyFromJSON(JSON.parse(readFileSync(new URL(file, dir), 'utf8')));
  await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') }, sinks: workerInterceptorOptions('bundled').sinks }, history, workflowIds[file] ?? file);
});
