// Histories recorded from real ingest and promote runs must replay on the current workflow code:
// a change that would break running workflows fails here (then guard it with patched()).
import { readdirSync, readFileSync } from 'node:fs';
import { expect, inject, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';

const dir = new URL('./histories/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

it('has recorded histories of both lifecycles', () => {
  const types = files.map((f) => {
    const history = JSON.parse(readFileSync(new URL(f, dir), 'utf8'));
    return history.events[0].workflowExecutionStartedEventAttributes.workflowType.name;
  });
  expect(new Set(types)).toEqual(new Set(['ingestBatchWorkflow', 'promoteContactsWorkflow']));
});

it.each(files)('replays %s without nondeterminism', async (file) => {
  const history = historyFromJSON(JSON.parse(readFileSync(new URL(file, dir), 'utf8')));
  await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, file);
});
