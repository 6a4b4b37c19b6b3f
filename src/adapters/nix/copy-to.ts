// Builder -> host over the uplink: `nix copy --to ssh://USER@ADDRESS ROOTS`, the legacy `nix-store --serve`
// protocol (see peer-copy.ts for why `ssh://`). SSH runs with strict host keys from the bot's known_hosts and
// BatchMode (a missing key fails instead of asking), authenticating with the agent the caller names. The copy
// reports progress as Nix logs it: paths started and done and, with the narSizes the caller knows, bytes.
// The destination checks signatures itself; nothing here can turn that off.
import type { StorePath } from '../../core/types.ts';
import { type CopyDiagnosis, diagnoseCopyFailure } from './copy-failure.ts';
import {
  BUILDER_FEATURES,
  checkFilePath,
  checkSshEndpoint,
  checkSshOptionValue,
  checkStorePaths,
  strictSshOptions,
} from './inputs.ts';
import { type CopyEvent, CopyLogReader, type CopyProgressSnapshot, decodeLogLine } from './progress.ts';
import { invalidInput, NixError, type NixErrorFields, runNix } from './run.ts';

export const CONNECT_TIMEOUT_S = 15;

export interface SshTarget {
  readonly user: string;
  readonly address: string;
  readonly port: number;
}

export interface SshAccess {
  /** The only known_hosts file ssh consults: the bot's own. */
  readonly knownHostsFile: string;
  /** SSH_AUTH_SOCK for ssh; without it (and without `identityFile`) ssh uses the bot user's default keys. */
  readonly agentSocket?: string;
  /** A private key file instead of the agent. */
  readonly identityFile?: string;
}

export interface CopyToProgress extends CopyProgressSnapshot {
  readonly event: CopyEvent;
  /** Set when this event finished a path (what the engine's CopyProgress reads). */
  readonly done?: StorePath;
  /** Set when this event is an error from Nix. */
  readonly error?: string;
}

export interface CopyToOptions {
  readonly ssh: SshAccess;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  readonly onProgress?: (p: CopyToProgress) => void;
  /** narSize by path, so finished paths count as bytes (Nix 2.8 reports no byte counts while copying). */
  readonly sizes?: ReadonlyMap<StorePath, number>;
  /** Bytes the caller expects to move (its plan for this copy), for a done/total figure. */
  readonly totalBytes?: number;
  /** `?compress=true`: ssh compression, worth it on a slow uplink with compressible paths. */
  readonly compress?: boolean;
  /** `--substitute-on-destination`: the host first tries its own substituters. */
  readonly substituteOnDestination?: boolean;
  readonly nixBinDir?: string;
}

export interface CopyToResult {
  readonly pathsCopied: number;
  readonly bytes: number;
}

/** A failed copy with what the SSH and Nix output says went wrong. */
export class CopyError extends NixError {
  override readonly name = 'CopyError';
  readonly diagnosis: CopyDiagnosis | null;
  constructor(fields: NixErrorFields, endpoint: string, diagnosis: CopyDiagnosis | null) {
    const why = diagnosis
      ? `${diagnosis.message}${diagnosis.hint ? ` (${diagnosis.hint})` : ''}`
      : fields.shortMessage;
    super(fields, `copy to ${endpoint} failed: ${why}`);
    this.diagnosis = diagnosis;
  }
}

/** NIX_SSHOPTS for strict host keys; refuses values that Nix would split differently than written. */
export function nixSshOpts(access: SshAccess, port: number): string {
  const known = checkFilePath(access.knownHostsFile, 'the known_hosts file');
  if (!known.ok) throw new TypeError(known.error);
  const parts = [
    checkSshOptionValue(known.value, 'the known_hosts file'),
    ...(access.identityFile === undefined
      ? []
      : [checkSshOptionValue(access.identityFile, 'the identity file')]),
  ];
  for (const p of parts) if (!p.ok) throw new TypeError(p.error);
  const opts = [
    ...strictSshOptions(known.value, CONNECT_TIMEOUT_S),
    ...(access.identityFile === undefined ? [] : [`-i ${access.identityFile}`, '-o IdentitiesOnly=yes']),
    `-p ${port}`,
  ];
  return opts.join(' ');
}

export async function copyTo(
  target: SshTarget,
  roots: readonly StorePath[],
  opts: CopyToOptions,
): Promise<CopyToResult> {
  const base = ['nix', ...BUILDER_FEATURES, 'copy', '--log-format', 'internal-json'];
  const endpoint = checkSshEndpoint(target.user, target.address, target.port);
  if (!endpoint.ok) throw invalidInput(base, endpoint.error);
  const checked = checkStorePaths(roots, 'roots');
  if (!checked.ok) throw invalidInput(base, checked.error);
  let sshOpts: string;
  try {
    sshOpts = nixSshOpts(opts.ssh, target.port);
  } catch (e) {
    throw invalidInput(base, (e as Error).message);
  }
  if (opts.ssh.agentSocket !== undefined) {
    const sock = checkFilePath(opts.ssh.agentSocket, 'the agent socket');
    if (!sock.ok) throw invalidInput(base, sock.error);
  }
  // log-fd: ssh gets an stderr of its own (see runNix's sshLogFd); every Nix from 2.0 on reads the setting.
  const url = `ssh://${endpoint.value}?log-fd=3${opts.compress ? '&compress=true' : ''}`;
  const argv = [
    ...base,
    '--to',
    url,
    ...(opts.substituteOnDestination ? ['--substitute-on-destination'] : []),
    '--',
    ...checked.value,
  ];
  const reader = new CopyLogReader({
    ...(opts.sizes ? { sizes: opts.sizes } : {}),
    ...(opts.totalBytes === undefined ? {} : { totalBytes: opts.totalBytes }),
  });
  // What explains a failure: messages and foreign text (ssh), not the activity chatter around them.
  const explaining: string[] = [];
  const onProgress = opts.onProgress;
  try {
    await runNix(argv, {
      sshLogFd: true,
      ...(opts.nixBinDir ? { nixBinDir: opts.nixBinDir } : {}),
      env: {
        NIX_SSHOPTS: sshOpts,
        ...(opts.ssh.agentSocket === undefined ? {} : { SSH_AUTH_SOCK: opts.ssh.agentSocket }),
      },
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
      onStderrLine: (line) => {
        const kind = decodeLogLine(line)?.kind;
        if ((kind === 'msg' || kind === 'text') && explaining.length < 500) explaining.push(line);
        for (const event of reader.feed(line)) {
          onProgress?.({
            ...reader.snapshot(),
            event,
            ...(event.kind === 'path-done' ? { done: event.path } : {}),
            ...(event.kind === 'error' ? { error: event.message } : {}),
          });
        }
      },
    });
  } catch (e) {
    if (!(e instanceof NixError) || e.timedOut || e.aborted) throw e;
    throw new CopyError(e, endpoint.value, diagnoseCopyFailure(explaining, endpoint.value));
  }
  const s = reader.snapshot();
  return { pathsCopied: s.pathsDone, bytes: s.bytesDone };
}
