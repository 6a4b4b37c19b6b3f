// Assertions on what a run, a host or a command came to that say why when they fail: each host's error and
// hint, and the stages the state database recorded with their details. A bare "expected 'failed' to be 'ok'"
// leaves a failure under load unexplained.
import { expect } from 'vitest';
import type { RunsPort, StagesPort } from '../../src/core/ports/state.ts';
import type { RunResult } from '../../src/engine/engine.ts';
import type { HostOutcome } from '../../src/engine/pipeline.ts';

type Store = Pick<StagesPort, 'stagesOf'> & Partial<Pick<RunsPort, 'getRun'>>;

function hostLine(h: HostOutcome): string {
  const parts = [`${h.host}: ${h.status}`];
  if (h.error) parts.push(`error: ${h.error}`);
  if (h.hint) parts.push(`hint: ${h.hint}`);
  if (h.copy?.fellBack?.length) parts.push(`fell back from: ${h.copy.fellBack.join(', ')}`);
  return parts.join('; ');
}

/** The run's stages as recorded: host, stage, status and detail. */
export function stagesText(store: Store | undefined, runId: string): string {
  if (!store) return '';
  try {
    const stages = store.stagesOf(runId);
    return stages
      .map((s) => `  ${s.host} ${s.stage} ${s.status}${s.detail ? `: ${s.detail}` : ''}`)
      .join('\n');
  } catch (e) {
    return `  (stages unreadable: ${e instanceof Error ? e.message : String(e)})`;
  }
}

/** A run result in words, for an assertion's message. */
export function explain(result: RunResult, store?: Store): string {
  const stages = stagesText(store, result.runId);
  return [
    `run ${result.runId} (${result.verb}) ended ${result.status}`,
    ...result.hosts.map((h) => `  ${hostLine(h)}`),
    ...(stages ? ['stages:', stages] : []),
  ].join('\n');
}

/** The run ended with `status`; otherwise fails naming every host's error and the recorded stages. */
export function expectRun(result: RunResult, status: RunResult['status'], store?: Store): void {
  expect(result.status, explain(result, store)).toBe(status);
}

/** One host's outcome is `status`; otherwise fails with the whole run explained. */
export function expectHost(
  result: RunResult,
  host: string,
  status: HostOutcome['status'],
  store?: Store,
): void {
  const h = result.hosts.find((o) => o.host === host);
  expect(h?.status, explain(result, store)).toBe(status);
}

/** Every host's outcome, in order, is as given. */
export function expectHosts(
  result: RunResult,
  statuses: readonly HostOutcome['status'][],
  store?: Store,
): void {
  expect(
    result.hosts.map((h) => h.status),
    explain(result, store),
  ).toEqual(statuses);
}

/** A run read back from the state database has `status`; otherwise fails with its summary and stages. */
export function expectStoredRun(
  store: Store & Pick<RunsPort, 'getRun'>,
  runId: string,
  status: string,
): void {
  const run = store.getRun(runId);
  const why = [
    `run ${runId}: ${run ? run.status : 'missing'}`,
    `summary: ${JSON.stringify(run?.summary ?? null)}`,
    'stages:',
    stagesText(store, runId),
  ].join('\n');
  expect(run?.status, why).toBe(status);
}

/** A child process exited with `code`; otherwise fails with what it printed. */
export function expectExit(
  out: { exitCode?: number | undefined; signal?: string | undefined; stdout?: unknown; stderr?: unknown },
  code: number,
): void {
  const why = [
    `exit ${out.exitCode ?? 'none'}${out.signal ? ` (signal ${out.signal})` : ''}`,
    `stdout:\n${String(out.stdout ?? '')}`,
    `stderr:\n${String(out.stderr ?? '')}`,
  ].join('\n');
  expect(out.exitCode, why).toBe(code);
}

/** A run's outcome in one line, for an assertion's message: each host's status, error and hint. */
export function outcomeOf(result: Pick<RunResult, 'status' | 'hosts'>): string {
  const hosts = result.hosts.map(
    (h) =>
      `${h.host}: ${h.status}${h.error === undefined ? '' : ` (${h.error})`}${h.hint === undefined ? '' : ` [${h.hint}]`}`,
  );
  return `run ${result.status}; ${hosts.join('; ') || 'no hosts'}`;
}
