// A peer copy onto a Nix 2.24 target reports every path it copies, even when the bot reads the target's log
// slower than Nix writes it: 2.24 logs each path's byte progress, many lines a path, and the ssh it starts
// for the peer used to share (and make non-blocking) the stderr those lines go to, so a full pipe dropped
// some of them, and with them paths' completions (the copy's byte count came out short). Three copies run at
// once while the bot is busy elsewhere for a while, reading nothing. A 2.8 target is copied to the same way. Every claim about what
// the targets hold is checked on the hosts directly (their namespaces, their own Nix).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../src/core/events.ts';
import type { HostSpec } from '../../src/core/types.ts';
import { copyPlan } from '../../src/engine/copy.ts';
import type { EngineDeps } from '../../src/engine/deps.ts';
import { planFromHoldings } from '../../src/engine/plan-host.ts';
import { openRun } from '../../src/engine/run-scope.ts';
import { type Office, officeUnavailable, startOffice } from '../office/index.ts';
import { mixedOfficeUnavailable } from '../office/nix-versions.ts';
import { run } from '../office/run.ts';
import { officeEngineDeps } from '../support/office-bot.ts';
import { copyTo, hostSpec } from '../support/ssh-office.ts';

const why = officeUnavailable() ?? mixedOfficeUnavailable();
const PEER = 'log-peer';
const NEW = ['log-new-a', 'log-new-b'];
const OLD = 'log-old';
/**
 * Paths in the copied closure, and bytes of each. 2.24 logs some 24 lines (about 3 MB in all) a path of this
 * size, more than the SSH channel's window and the pipes can hold while the bot reads nothing; with the old
 * shared stderr, 2,600 to 6,400 of some 36,000 lines were lost and the byte counts came out short.
 */
const LEAVES = 1500;
const LEAF_BYTES = 8 * 1024;
/** How long the bot is busy elsewhere once the copies have begun, reading nothing. */
const STALL_MS = 8000;

function busyWait(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // a bot busy elsewhere: nothing is read meanwhile
  }
}

describe.skipIf(why !== null)('peer copies onto Nix 2.24 and 2.8 targets, read slowly', () => {
  let office: Office;
  let root = '';
  let leaves: string[] = [];
  const stateDirs: string[] = [];
  let stalled = false;

  beforeAll(async () => {
    office = await startOffice({
      hosts: [
        { name: PEER, nix: '2.24' },
        ...NEW.map((name) => ({ name, nix: '2.24' as const })),
        { name: OLD, nix: '2.8' },
      ],
      builderNix: '2.24',
      scale: 0.05,
    });
    // Paths unique to this run, written by evaluation alone, so no host holds any of them yet.
    const nonce = `${office.id}-${Date.now()}`;
    const expr = `let
        body = builtins.concatStringsSep "" (builtins.genList (j: "${nonce} line \${toString j} of a leaf\\n") ${Math.ceil(LEAF_BYTES / 40)});
        leaves = builtins.genList (i: builtins.toFile "log-leaf-\${toString i}" "\${toString i} \${body}") ${LEAVES};
      in builtins.toFile "log-root-${nonce}" (builtins.concatStringsSep "\\n" leaves)`;
    root = JSON.parse(
      (await run(['nix-instantiate', '--eval', '--read-write-mode', '--json', '-E', expr])).stdout,
    ) as string;
    leaves = (await run(['nix-store', '--query', '--references', root])).stdout.split('\n').filter(Boolean);
    expect(leaves).toHaveLength(LEAVES);
    // The peer holds the closure; the targets hold none of it.
    await copyTo(office, PEER, [root]);
  });
  afterAll(async () => {
    await office?.close();
    for (const d of stateDirs) await rm(d, { recursive: true, force: true });
  });

  /** The engine's dependencies on this office; the first stderr line read from a host stalls the bot `STALL_MS`. */
  async function deps(): Promise<EngineDeps & { close(): Promise<void> }> {
    const stateDir = await mkdtemp(join(tmpdir(), 'signage-peer-log-'));
    stateDirs.push(stateDir);
    return officeEngineDeps(office, {
      hosts: [PEER, ...NEW, OLD].map((h) => hostSpec(office, h)),
      stateDir,
      connection: (conn) => ({
        ...conn,
        exec: (argv, opts) => {
          const onLine = opts?.onStderr;
          if (onLine === undefined) return conn.exec(argv, opts);
          return conn.exec(argv, {
            ...opts,
            onStderr: (l) => {
              if (!stalled) {
                stalled = true;
                busyWait(STALL_MS);
              }
              onLine(l);
            },
          });
        },
      }),
    });
  }

  /** Copies the root's closure to `target` through the engine's copy stage; the paths it saw finish. */
  async function copyRootTo(target: HostSpec) {
    const d = await deps();
    const events: EngineEvent[] = [];
    try {
      const closure = await d.builder.closure([root]);
      const built = { host: target.name, toplevel: root, closure };
      const scope = openRun(d, {
        verb: 'deploy',
        hosts: [target.name],
        actor: { kind: 'cli', user: 'tester' },
        onEvent: (e) => events.push(e),
        lock: true,
      });
      const plan = await planFromHoldings(d, scope, target, built);
      const result = await copyPlan(d, scope, target, built, plan);
      scope.finish('ok');
      return { plan, result, closure };
    } finally {
      await d.close();
    }
  }

  async function expectHeld(host: string) {
    const held = await office.onHost(host, ['nix-store', '--check-validity', root, ...leaves]);
    expect(held.exitCode, held.stderr).toBe(0);
  }

  it('counts every path of the closure on two 2.24 targets and a 2.8 one, copied at once', async () => {
    expect((await office.onHost(NEW[0]!, ['nix-store', '--version'])).stdout.trim()).toBe(
      'nix-store (Nix) 2.24.15',
    );
    expect((await office.onHost(OLD, ['nix-store', '--version'])).stdout.trim()).toBe(
      'nix-store (Nix) 2.8.0',
    );
    stalled = false;
    const copies = await Promise.all([...NEW, OLD].map((h) => copyRootTo(hostSpec(office, h))));
    for (const [i, host] of [...NEW, OLD].entries()) {
      const { plan, result, closure } = copies[i]!;
      const peerStep = plan.steps.find((s) => s.source.kind === 'peer');
      expect(peerStep?.paths.length, host).toBe(LEAVES + 1);
      expect(result.fellBack, host).toEqual([]);
      // Bytes count only paths whose completion the target's log reported: all of them, or it falls short.
      const all = closure.reduce((s, p) => s + p.narSize, 0);
      expect(result.bySource[`peer:${PEER}`], host).toBe(all);
      expect(result.uplinkBytes, host).toBe(0);
      await expectHeld(host);
    }
  });
});
