import { afterAll, describe, expect, it } from 'vitest';
import { maskSecrets } from '../../src/adapters/state/redact.ts';
import type { Actor } from '../../src/core/events.ts';
import type { AuditEntry } from '../../src/core/ports/state.ts';
import { openOrThrow, tempDirs } from '../fixtures/state/temp.ts';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

const alice: Actor = { kind: 'slack', userId: 'U0ALICE', channelId: 'C0OPS' };
const cron: Actor = { kind: 'schedule', job: 'status' };
const at = (s: number) => new Date(Date.UTC(2025, 2, 1, 9, 0, s));

describe('the audit log', () => {
  it('keeps every command as it was run, newest first, filtered by host and run', () => {
    const { store, close } = openOrThrow(dirs.make());
    const run = store.createRun({ verb: 'deploy', hosts: ['lobby'], actor: alice, now: at(0) });
    const entries: AuditEntry[] = [
      {
        at: at(1),
        runId: run.id,
        host: 'lobby',
        actor: alice,
        argv: ['nix-env', '-p', '/nix/var/nix/profiles/system', '--set', '/nix/store/x'],
        exitCode: 0,
        durationMs: 120,
        error: null,
      },
      {
        at: at(2),
        runId: run.id,
        host: 'lobby',
        actor: alice,
        argv: ['systemctl', 'restart', 'display-manager.service'],
        exitCode: 1,
        durationMs: 35,
        error: 'Job failed. See "journalctl -xe".',
      },
      {
        at: at(3),
        runId: null,
        host: 'canteen',
        actor: cron,
        argv: ['(probe)'],
        exitCode: null,
        durationMs: 3000,
        error: 'timed out after 3 s',
      },
      {
        at: at(4),
        runId: null,
        host: 'lobby',
        actor: cron,
        argv: ['echo', 'it\'s "quoted" ü'],
        exitCode: 0,
        durationMs: 1,
      },
    ];
    for (const e of entries) store.audit(e);

    const all = store.auditLog({ limit: 10 });
    expect(all.map(({ id: _, ...rest }) => rest)).toEqual(
      [...entries].reverse().map((e) => ({ ...e, error: e.error ?? null })),
    );
    expect(new Set(all.map((r) => r.id)).size).toBe(4);
    expect(store.auditLog({ host: 'lobby', limit: 10 }).map((r) => r.at)).toEqual([at(4), at(2), at(1)]);
    expect(store.auditLog({ runId: run.id, limit: 10 }).map((r) => r.at)).toEqual([at(2), at(1)]);
    expect(store.auditLog({ host: 'canteen', runId: run.id, limit: 10 })).toEqual([]);
    expect(store.auditLog({ limit: 1 }).map((r) => r.at)).toEqual([at(4)]);
    close();
  });

  it('keeps the last 2,000 characters of an error, masked before the cut so no half-secret is left', () => {
    const { store, close } = openOrThrow(dirs.make());
    const token = 'xoxb-1111111111-2222222222-ABCDEFGHIJKLMNOPQRSTUVWX';
    // The token straddles where a plain 2,000-character cut would fall.
    const error = `${'a'.repeat(3000)}${token}${'b'.repeat(1980)}\nfatal: the end`;
    store.audit({
      at: at(1),
      runId: null,
      host: 'lobby',
      actor: alice,
      argv: ['x'],
      exitCode: 1,
      durationMs: 1,
      error,
    });
    const kept = store.auditLog({ limit: 1 })[0]?.error ?? '';
    expect(kept.length).toBe(2000);
    expect(kept.endsWith('fatal: the end')).toBe(true);
    expect(kept).not.toMatch(/ABCDEF|2222222222|QRSTUVWX/);
    close();
  });

  it('masks secrets in errors and in argv', () => {
    const { store, close } = openOrThrow(dirs.make());
    const key = [
      '-----BEGIN OPENSSH PRIVATE KEY-----',
      'b3BlbnNzaC1rZXktdjEAAAAABG5vbmU=',
      '-----END OPENSSH PRIVATE KEY-----',
    ].join('\n');
    store.audit({
      at: at(1),
      runId: null,
      host: 'lobby',
      actor: alice,
      argv: ['curl', 'https://deploy:hunter2@cache.example/nix', '--password=hunter3'],
      exitCode: 7,
      durationMs: 1,
      error: `cat: ${key}\nSLACK_APP_TOKEN=xapp-1-A0-123-abc\napi_key: "k-999"`,
    });
    const [row] = store.auditLog({ limit: 1 });
    expect(row?.argv).toEqual([
      'curl',
      'https://deploy:[redacted]@cache.example/nix',
      '--password=[redacted]',
    ]);
    expect(row?.error).toBe('cat: [redacted] private key\nSLACK_APP_TOKEN=[redacted]\napi_key: [redacted]');
    close();
  });
});

describe('masking secret shapes', () => {
  it.each([
    [
      'a Slack bot token',
      'auth failed for xoxb-12345-67890-abcdefABCDEF',
      'auth failed for xoxb-[redacted]',
      'abcdef',
    ],
    ['a Slack user token', 'token xoxp-1-2-3-deadbeef', 'token xoxp-[redacted]', 'deadbeef'],
    [
      'a password in a URL',
      'git+https://ci:s3cr3t@git.example/fleet',
      'git+https://ci:[redacted]@git.example/fleet',
      's3cr3t',
    ],
    ['PASSWORD=', 'DB_PASSWORD=s3cr3t ./run', 'DB_PASSWORD=[redacted] ./run', 's3cr3t'],
    ['secret=', 'client_secret=abc123&x=1', 'client_secret=[redacted]&x=1', 'abc123'],
    ['a quoted token', `github_token='gh-42 x'`, 'github_token=[redacted]', 'gh-42'],
    ['a JSON api key', '{"api_key": "k-1"}', '{"api_key": [redacted]}', 'k-1'],
    ['a bearer token', 'Authorization: Bearer abc.def.ghi', 'Authorization: Bearer [redacted]', 'abc.def'],
    [
      'a private key cut at its start',
      'Qm9ndXM=\n-----END RSA PRIVATE KEY-----\nnext line',
      '[redacted] private key\nnext line',
      'Qm9ndXM',
    ],
    [
      'a private key without its end',
      'x\n-----BEGIN EC PRIVATE KEY-----\nQm9ndXM=',
      'x\n[redacted] private key',
      'Qm9ndXM',
    ],
  ])('%s', (_what, input, masked, secret) => {
    expect(maskSecrets(input)).toBe(masked);
    expect(maskSecrets(input)).not.toContain(secret);
    expect(maskSecrets(masked)).toBe(masked);
  });

  it('leaves ordinary output alone', () => {
    const text = 'error: path /nix/store/abc-hello is not valid; see https://nixos.org/manual (exit 1)';
    expect(maskSecrets(text)).toBe(text);
  });
});
