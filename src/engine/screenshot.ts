// What a screen shows: the host's own screenshot command (configured per host, tag or fleet; run exactly as
// configured, never through a shell) prints a PNG on stdout, which is checked before anyone sees it. Read-only:
// no run and no lock, so a screenshot can be taken while a deploy works on the host; the command still goes
// into the audit log.
import { checkPng } from '../core/png.ts';
import type { HostFailure } from '../core/ports/hosts.ts';
import type { HostSpec } from '../core/types.ts';
import type { EngineDeps } from './deps.ts';
import type { Asker } from './engine.ts';
import { EngineError, messageOf, StateError } from './errors.ts';
import { hostAccess } from './run-scope.ts';

export interface Screenshot {
  readonly host: string;
  readonly png: Uint8Array;
  readonly width: number;
  readonly height: number;
  /** ISO time the command finished. */
  readonly takenAt: string;
}

/** No screenshot command is configured for the host. */
export class NoScreenshotCommand extends EngineError {
  override readonly name = 'NoScreenshotCommand';
}

/** The command ran but what it printed is not a screenshot, or it failed, hung or could not be reached. */
export class ScreenshotFailed extends EngineError {
  override readonly name = 'ScreenshotFailed';
}

export async function takeScreenshot(deps: EngineDeps, host: HostSpec, asker: Asker): Promise<Screenshot> {
  const settings = host.screenshot;
  if (settings === undefined) {
    throw new NoScreenshotCommand(
      `${host.name} has no screenshot command`,
      'set screenshot.command (or hosts.NAME.screenshotCommand) in the configuration, e.g. [grim, -] on a Wayland kiosk',
    );
  }
  const shown = settings.argv.join(' ');
  const access = hostAccess(deps, null, asker.actor, asker.signal);
  let result: Awaited<ReturnType<typeof access.exec>>;
  try {
    result = await access.exec(host, settings.argv, {
      binaryStdout: true,
      timeoutMs: settings.timeoutMs,
      // One byte over the bound is enough to tell that the output is too big.
      keepStdoutBytes: settings.maxBytes + 1,
      allowFailure: true,
    });
  } catch (e) {
    if (e instanceof StateError) throw e;
    const failure = (e as { failure?: HostFailure }).failure;
    if (failure?.kind === 'CommandTimeout') {
      throw new ScreenshotFailed(
        `${host.name}: the screenshot command \`${shown}\` did not finish within ${settings.timeoutMs / 1000} s and was stopped`,
        'check that the command works on the host (a display to read, no prompt waiting for input), or raise screenshot.timeoutSeconds',
      );
    }
    throw new ScreenshotFailed(
      `${host.name}: no screenshot: ${messageOf(e)}`,
      failure?.hint ?? 'check that the host is up and reachable',
    );
  }
  if (result.exitCode !== 0) {
    const said = result.stderr.trim().split('\n').slice(-3).join(' / ').slice(0, 300);
    throw new ScreenshotFailed(
      `${host.name}: the screenshot command \`${shown}\` exited ${result.exitCode ?? `on signal ${result.signal ?? '?'}`}${said ? `: ${said}` : ''}`,
      'run the command on the host to see why (is the display up, is the command installed?)',
    );
  }
  const png = result.stdoutBytes ?? new Uint8Array();
  const check = checkPng(png, settings.maxBytes);
  if (!check.ok) {
    throw new ScreenshotFailed(
      `${host.name}: the screenshot command \`${shown}\` did not give a screenshot: ${check.problem}`,
      'the command must print one PNG image on stdout and nothing else (for grim: `grim -`)',
    );
  }
  return {
    host: host.name,
    png,
    width: check.width,
    height: check.height,
    takenAt: deps.now().toISOString(),
  };
}
