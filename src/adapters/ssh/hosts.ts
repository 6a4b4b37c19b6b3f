// The hosts port over SSH: one pooled connection per host, strict host keys, no agent forwarded, commands
// quoted word for word and ended on the host when they time out or are cancelled.
import { isHostAddress, isSshUser } from '../../core/endpoint.ts';
import type { FreshConnection, HostConnection, HostsPort } from '../../core/ports/hosts.ts';
import type { HostSpec } from '../../core/types.ts';
import { invalidRequest } from './errors.ts';
import { type ExecTarget, execOn } from './exec.ts';
import { ConnectionPool, type PoolStats } from './pool.ts';
import { probe, validPaths } from './queries.ts';
import { parseSshSettings, type SshSettingsInput } from './settings.ts';

export { HostError } from './errors.ts';
export type { SshSettings, SshSettingsInput } from './settings.ts';
export { SshSettingsError } from './settings.ts';

export type SshHosts = HostsPort & { stats(): PoolStats };

/** Throws SshSettingsError for invalid settings; connects nothing until a command needs it. */
export function createSshHosts(settings: SshSettingsInput): SshHosts {
  const parsed = parseSshSettings(settings);
  const pool = new ConnectionPool(parsed);
  return {
    connection(host: HostSpec): HostConnection {
      const target: ExecTarget = { host, pool, settings: parsed };
      const problem = specProblem(host);
      const refuse = () =>
        Promise.reject(invalidRequest(host, problem ?? '', 'fix the host in the configuration'));
      return {
        host,
        exec: (argv, execOpts) => (problem ? refuse() : execOn(target, argv, execOpts)),
        probe: (probeOpts) => (problem ? refuse() : probe(target, probeOpts)),
        validPaths: (paths, pathOpts) => (problem ? refuse() : validPaths(target, paths, pathOpts)),
      };
    },
    fresh(host: HostSpec): FreshConnection {
      const own = new ConnectionPool(parsed);
      const target: ExecTarget = { host, pool: own, settings: parsed };
      const problem = specProblem(host);
      const refuse = () =>
        Promise.reject(invalidRequest(host, problem ?? '', 'fix the host in the configuration'));
      return {
        host,
        exec: (argv, execOpts) => (problem ? refuse() : execOn(target, argv, execOpts)),
        probe: (probeOpts) => (problem ? refuse() : probe(target, probeOpts)),
        validPaths: (paths, pathOpts) => (problem ? refuse() : validPaths(target, paths, pathOpts)),
        close: () => own.closeAll(),
      };
    },
    closeAll: () => pool.closeAll(),
    stats: () => pool.stats(),
  };
}

function specProblem(host: HostSpec): string | null {
  if (!isHostAddress(host.address)) {
    return `the address ${JSON.stringify(host.address)} is not a host name or IPv4 address`;
  }
  if (!Number.isInteger(host.port) || host.port < 1 || host.port > 65535)
    return `the port ${host.port} is not a TCP port`;
  if (!isSshUser(host.user)) {
    return `the user ${JSON.stringify(host.user)} is not a login name`;
  }
  return null;
}
