import { describe, expect, it } from 'vitest';
import { touchedHost } from '../../src/core/last-change.ts';
import type { StageRecord, StageStatus } from '../../src/core/ports/state.ts';
import type { StageName } from '../../src/core/types.ts';

const stage = (host: string, name: StageName, status: StageStatus): StageRecord => ({
  runId: 'r1',
  host,
  stage: name,
  status,
  startedAt: new Date(0),
  durationMs: 1,
  bytes: null,
  detail: null,
});

// A rollout of two hosts: kitchen changed, entrance already ran the new system.
const rollout = [
  stage('entrance', 'build', 'ok'),
  stage('kitchen', 'build', 'ok'),
  stage('entrance', 'plan', 'noop'),
  stage('kitchen', 'plan', 'ok'),
  stage('entrance', 'copy', 'noop'),
  stage('kitchen', 'copy', 'ok'),
  stage('entrance', 'switch', 'noop'),
  stage('kitchen', 'switch', 'ok'),
  stage('entrance', 'restart', 'skipped'),
  stage('kitchen', 'restart', 'skipped'),
];

describe('which run is a host’s last deploy', () => {
  it('is not a rollout in which the host had nothing to do', () => {
    expect(touchedHost(rollout, 'entrance')).toBe(false);
    expect(touchedHost(rollout, 'kitchen')).toBe(true);
  });

  it('is a run that failed on the host, was cut short, or restarted it', () => {
    expect(touchedHost([stage('a', 'build', 'failed')], 'a')).toBe(true);
    expect(touchedHost([stage('a', 'build', 'ok'), stage('a', 'copy', 'interrupted')], 'a')).toBe(true);
    expect(touchedHost([stage('a', 'switch', 'noop'), stage('a', 'restart', 'ok')], 'a')).toBe(true);
    expect(touchedHost([stage('a', 'plan', 'ok'), stage('a', 'copy', 'running')], 'a')).toBe(true);
  });

  it('counts a run that recorded no stage of the host (it failed before any)', () => {
    expect(touchedHost([stage('b', 'switch', 'ok')], 'a')).toBe(true);
  });
});
