# Evaluates a small NixOS system with services.signage-bot (nothing is booted) and checks what the module
# makes of it: the unit, the configuration file it writes (read by the bot's own parser), and that each
# misconfiguration fails with an assertion naming the option. Built by `nix flake check` (needs nixpkgs).
{
  nixpkgs,
  system,
  module,
}:
let
  inherit (nixpkgs) lib;
  pkgs = nixpkgs.legacyPackages.${system};

  secrets = "/var/lib/secrets";
  hostKey = "baard-entrance.example.ts.net ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGlH0TLj9vX3r8bq8m1tE2cXbN5Yw7Qe4sPjUuV0dK1a";

  base = {
    nixpkgs.hostPlatform = system;
    boot.loader.grub.enable = false;
    fileSystems."/" = {
      device = "none";
      fsType = "tmpfs";
    };
    system.stateVersion = "26.05";

    services.signage-bot = {
      enable = true;
      signingKeyFile = "${secrets}/signage-builder-1.secret";
      sshIdentityFile = "${secrets}/signage-bot-ssh";
      sshKnownHosts = [ hostKey ];
      credentials = {
        slack-bot-token = "${secrets}/slack-bot-token";
        slack-app-token = "${secrets}/slack-app-token";
      };
      settings = {
        flake = "github:office/signage-fleet";
        slack = {
          channel = "C0123ABCD";
          approvers.users = [ "U0123ABCD" ];
        };
        hosts.baard-entrance = {
          address = "baard-entrance.example.ts.net";
          lanAddress = "10.0.4.21";
          site = "baard";
        };
      };
    };
  };

  evalWith =
    extra:
    (nixpkgs.lib.nixosSystem {
      modules = [
        module
        base
        extra
      ];
    }).config;

  # Failed assertions of this module (they all name a services.signage-bot option).
  failedOf =
    config:
    map (a: a.message) (
      lib.filter (a: !a.assertion && lib.hasInfix "services.signage-bot" a.message) config.assertions
    );

  good = evalWith { };
  service = good.systemd.services.signage-bot;
  serviceConfig = service.serviceConfig;
  configFile = lib.last (lib.splitString " " serviceConfig.ExecStart);

  expect =
    what: ok:
    if ok then
      null
    else
      what;

  unitProblems = lib.filter (p: p != null) [
    (expect "a valid configuration fails assertions: ${builtins.toJSON (failedOf good)}" (failedOf good == [ ]))
    (expect "the service does not run as the signage-bot user" (serviceConfig.User == "signage-bot"))
    (expect "signage-bot is not a system user" good.users.users.signage-bot.isSystemUser)
    (expect "the signing key is not loaded as a credential" (
      lib.elem "signing-key:${secrets}/signage-builder-1.secret" serviceConfig.LoadCredential
    ))
    (expect "the SSH key is not loaded as a credential" (
      lib.elem "ssh-identity:${secrets}/signage-bot-ssh" serviceConfig.LoadCredential
    ))
    (expect "the Slack token is not loaded as a credential" (
      lib.elem "slack-bot-token:${secrets}/slack-bot-token" serviceConfig.LoadCredential
    ))
    (expect "Restart is not on-failure" (serviceConfig.Restart == "on-failure"))
    (expect "StateDirectory is not signage-bot" (serviceConfig.StateDirectory == "signage-bot"))
    (expect "the sandboxing is missing" (serviceConfig.ProtectSystem == "strict" && serviceConfig.NoNewPrivileges))
    (expect "ExecStart does not pass --config" (lib.hasInfix " --config /nix/store/" serviceConfig.ExecStart))
    (expect "the bot's user was made a trusted Nix user without trustedUser" (
      !lib.elem "signage-bot" good.nix.settings.trusted-users
    ))
    (expect "a port was opened in socket mode" (!lib.elem 3000 good.networking.firewall.allowedTCPPorts))
  ];

  # Each misconfiguration, and words its assertion must contain.
  refused = {
    "secret in the store" = {
      config.services.signage-bot.signingKeyFile = lib.mkForce "${builtins.storeDir}/0000-signing.secret";
      says = "services.signage-bot.signingKeyFile is in the Nix store";
    };
    "relative secret path" = {
      config.services.signage-bot.sshIdentityFile = lib.mkForce "keys/signage-bot-ssh";
      says = "services.signage-bot.sshIdentityFile must be an absolute path";
    };
    "bad credential name" = {
      config.services.signage-bot.credentials."slack/token" = "${secrets}/slack-token";
      says = "services.signage-bot.credentials.\"slack/token\"";
    };
    "credential name taken by the module" = {
      config.services.signage-bot.credentials.signing-key = "${secrets}/other";
      says = "is taken by the module";
    };
    "agent socket the service cannot see" = {
      config.services.signage-bot = {
        sshIdentityFile = lib.mkForce null;
        sshAgentSocket = "/run/user/1000/ssh-agent.sock";
      };
      says = "services.signage-bot.sshAgentSocket = \"/run/user/1000/ssh-agent.sock\" is under /run/user";
    };
    "HTTP port below 1024" = {
      config.services.signage-bot.settings.slack = {
        mode = "http";
        port = 443;
      };
      says = "services.signage-bot.settings.slack.port = 443 is below 1024";
    };
    "openFirewall in socket mode" = {
      config.services.signage-bot.openFirewall = true;
      says = "services.signage-bot.openFirewall";
    };
    "no known_hosts" = {
      config.services.signage-bot.sshKnownHosts = lib.mkForce [ ];
      says = "services.signage-bot.sshKnownHosts is empty";
    };
    "user not allowed by the Nix daemon" = {
      config.nix.settings.allowed-users = [ "@wheel" ];
      says = "services.signage-bot.user \"signage-bot\" is not in nix.settings.allowed-users";
    };
    "configFile together with settings" = {
      config.services.signage-bot.configFile = pkgs.writeText "signage.yml" "flake: github:office/signage-fleet\n";
      says = "services.signage-bot.configFile and services.signage-bot.settings are both set";
    };
  };

  refusalProblems = lib.filter (p: p != null) (
    lib.mapAttrsToList (
      name: case:
      let
        failed = failedOf (evalWith case.config);
      in
      expect "${name}: expected an assertion saying \"${case.says}\", got ${builtins.toJSON failed}" (
        lib.any (m: lib.hasInfix case.says m) failed
      )
    ) refused
  );

  problems = unitProblems ++ refusalProblems;
  package = good.services.signage-bot.package;
in
if problems != [ ] then
  throw "module check:\n${lib.concatMapStringsSep "\n" (p: "- ${p}") problems}"
else
  pkgs.runCommand "signage-bot-module-check"
    {
      nativeBuildInputs = [
        pkgs.jq
        pkgs.nodejs_24
      ];
      inherit configFile;
      parse = "${package}/lib/signage-bot/src/adapters/config/parse.ts";
    }
    ''
      set -euo pipefail
      fail() { echo "module check: $*" >&2; exit 1; }
      jq -e '.builder.signingKeyFile == "/run/credentials/signage-bot.service/signing-key"' "$configFile" >/dev/null \
        || fail "builder.signingKeyFile does not point at the credential"
      jq -e '.ssh.identityFile == "/run/credentials/signage-bot.service/ssh-identity"' "$configFile" >/dev/null \
        || fail "ssh.identityFile does not point at the credential"
      jq -e '.stateDir == "/var/lib/signage-bot" and .hosts["baard-entrance"].lanAddress == "10.0.4.21"' "$configFile" >/dev/null \
        || fail "stateDir or the host's settings are not in the configuration"
      jq -e '[.. | select(. == null)] | length == 0' "$configFile" >/dev/null \
        || fail "unset options were written as null instead of left out"
      grep -qF '${hostKey}' "$(jq -r .ssh.knownHostsFile "$configFile")" \
        || fail "the known_hosts file does not hold the host key"

      # The bot's own parser must accept what the module wrote.
      cat > parse-check.mjs <<'EOF'
      import { readFileSync } from 'node:fs';
      const { parseConfig } = await import(process.env.parse);
      const result = parseConfig(readFileSync(process.env.configFile, 'utf8'), process.env.configFile, {});
      if (!result.ok) {
        console.error(JSON.stringify(result.error, null, 2));
        process.exit(1);
      }
      EOF
      node parse-check.mjs || fail "the bot's parser refuses the configuration the module wrote"
      touch "$out"
    ''
