# systemd sandboxing for the signage bot. Builtins only (plain values), so the tests can render it into a
# unit and check it with `systemd-analyze verify` without nixpkgs.
#
# The bot runs `nix build`, `nix store sign` and `nix copy` through the Nix daemon's socket, ssh to the
# hosts (with its key file, or an ssh-agent socket it is given), and talks HTTPS to Slack. Everything else is denied;
# each exception below says why it is needed.
{
  # The whole file system is read-only except the StateDirectory= and CacheDirectory= the module sets.
  # Connecting to the daemon's socket under /nix/var still works: a socket's write permission is not
  # refused on a read-only mount.
  ProtectSystem = "strict";
  # Also hides /run/user, so an agent socket there is out of reach (the module refuses one).
  ProtectHome = true;
  PrivateTmp = true;
  PrivateDevices = true;
  PrivateMounts = true;
  ProtectKernelTunables = true;
  ProtectKernelModules = true;
  ProtectKernelLogs = true;
  ProtectControlGroups = true;
  ProtectClock = true;
  ProtectHostname = true;
  # Other users' processes are hidden.
  # ProcSubset=pid is not set: Node reads /proc/meminfo and /proc/cpuinfo, which it would hide.
  ProtectProc = "invisible";

  NoNewPrivileges = true;
  CapabilityBoundingSet = "";
  AmbientCapabilities = "";
  RestrictSUIDSGID = true;
  RestrictRealtime = true;
  # The Nix client does not build here (the daemon does, in its own sandbox), so it needs no namespaces.
  RestrictNamespaces = true;
  LockPersonality = true;
  RemoveIPC = true;
  UMask = "0077";
  # Not MemoryDenyWriteExecute: V8's JIT compiler needs memory that is writable and then executable.
  # PrivateUsers is not set either: with it, root-owned files such as the store and ssh's own
  # configuration would appear owned by "nobody", and ssh refuses configuration files with a wrong owner.

  # AF_UNIX: the Nix daemon's socket and an ssh agent's. AF_INET/AF_INET6: Slack and the hosts.
  # AF_NETLINK: glibc's getaddrinfo (ssh's, and Node's for AI_ADDRCONFIG) asks the kernel over netlink
  # which address families are configured.
  RestrictAddressFamilies = [
    "AF_UNIX"
    "AF_INET"
    "AF_INET6"
    "AF_NETLINK"
  ];

  SystemCallArchitectures = "native";
  # Not "~@privileged" on top: ssh's children for ProxyCommand and LocalCommand call setresuid to drop
  # set-uid privileges (a no-op for this user) and treat a refusal as fatal. Without capabilities the
  # calls @privileged guards fail anyway.
  SystemCallFilter = [ "@system-service" ];
  # A call outside the filter fails with EPERM instead of killing the process, so an error names it.
  SystemCallErrorNumber = "EPERM";
}
