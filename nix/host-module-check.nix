# Evaluates a small NixOS screen with services.signage-host (nothing is booted) under the real module system
# and checks what it makes of it together with NixOS's own modules: the nix-ssh account and its sshd Match
# blocks, the builder's key, the bot's key, the sudoers file for a bot user that is not root (checked with
# visudo), and that each misconfiguration fails with an assertion naming the option. Built by
# `nix flake check` (needs nixpkgs).
{
  nixpkgs,
  system,
  module,
}:
let
  inherit (nixpkgs) lib;
  pkgs = nixpkgs.legacyPackages.${system};
  host = import ./lib/signage-host.nix;

  builderKey = "signage-builder-1:70LfcL9ngpxazxkpKPZRvZR+8KGwd+yXN0WIn/n7Pd0=";
  peerKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGlH0TLj9vX3r8bq8m1tE2cXbN5Yw7Qe4sPjUuV0dK1a baard-kitchen";
  botKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPq9dZkq1m7YwT0c3sE2bN5Yw7Qe4sPjUuV0dK1aGlH0 signage-bot";

  base = {
    nixpkgs.hostPlatform = system;
    boot.loader.grub.enable = false;
    fileSystems."/" = {
      device = "none";
      fsType = "tmpfs";
    };
    system.stateVersion = "26.05";
    # A kiosk: the unit the bot's default checks and restart command expect.
    services.xserver.enable = true;

    services.signage-host = {
      enable = true;
      builderKeys = [ builderKey ];
      peerKeys = [ peerKey ];
      bot.keys = [ botKey ];
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

  failedOf = config: map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);

  good = evalWith { };
  asUser = evalWith { services.signage-host.bot.user = "signage"; };
  sshdConfig = good.environment.etc."ssh/sshd_config".source;

  expect = what: ok: if ok then null else what;

  problems = lib.filter (p: p != null) (
    [
      (expect "a valid configuration fails assertions: ${builtins.toJSON (failedOf good)}" (failedOf good == [ ]))
      (expect "with bot.user signage: ${builtins.toJSON (failedOf asUser)}" (failedOf asUser == [ ]))
      (expect "nix-ssh serving is off" good.nix.sshServe.enable)
      (expect "nix-ssh serving is writable" (!good.nix.sshServe.write))
      (expect "the peer key is not restricted" (good.users.users.nix-ssh.openssh.authorizedKeys.keys == [ "restrict ${peerKey}" ]))
      (expect "the builder key is not trusted" (lib.elem builderKey good.nix.settings.trusted-public-keys))
      (expect "signatures are not required" good.nix.settings.require-sigs)
      (expect "the bot's key is not authorised for root" (lib.elem "restrict ${botKey}" good.users.users.root.openssh.authorizedKeys.keys))
      (expect "agent forwarding is not off" (good.services.openssh.settings.AllowAgentForwarding == false))
      (expect "the sudo rules are not there for the bot's user" (
        lib.any (r: r.users == [ "signage" ]) asUser.security.sudo.extraRules
      ))
      (expect "the signage user was not created" asUser.users.users.signage.isSystemUser)
      (expect "sudo rules for the bot although it logs in as root" (
        !lib.any (r: lib.elem "signage" r.users) good.security.sudo.extraRules
      ))
    ]
    ++ lib.mapAttrsToList (
      name: case:
      let
        failed = failedOf (evalWith case.config);
      in
      expect "${name}: expected an assertion saying \"${case.says}\", got ${builtins.toJSON failed}" (
        lib.any (m: lib.hasInfix case.says m) failed
      )
    ) refused
  );

  refused = {
    "no builder key" = {
      config.services.signage-host.builderKeys = lib.mkForce [ ];
      says = "services.signage-host.builderKeys is empty";
    };
    "writable serving" = {
      config.nix.sshServe.write = true;
      says = "nix.sshServe.write is on";
    };
    "no ed25519 host key" = {
      config.services.openssh.hostKeys = lib.mkForce [
        {
          type = "rsa";
          bits = 4096;
          path = "/etc/ssh/ssh_host_rsa_key";
        }
      ];
      says = "has no ed25519 key at ${host.hostKeyPath}";
    };
    "no sudo for another user" = {
      config = {
        services.signage-host.bot.user = "signage";
        security.sudo.enable = false;
      };
      says = "so the bot needs sudo";
    };
    "no kiosk unit" = {
      config.services.signage-host.kioskUnit = "kiosk.service";
      says = "services.signage-host.kioskUnit is kiosk.service, which this system does not define";
    };
  };
in
if problems != [ ] then
  throw "host module check:\n${lib.concatMapStringsSep "\n" (p: "- ${p}") problems}"
else
  pkgs.runCommand "signage-host-module-check"
    {
      nativeBuildInputs = [ pkgs.sudo ];
      inherit sshdConfig;
      sudoers = asUser.environment.etc.sudoers.source;
    }
    ''
      set -euo pipefail
      fail() { echo "host module check: $*" >&2; exit 1; }
      visudo -c -f "$sudoers" || fail "the sudoers file does not parse"
      grep -q '^signage .*/run/current-system/sw/bin/nix-env' "$sudoers" || fail "the sudoers file has no rule for signage"
      grep -q '^AllowAgentForwarding no' "$sshdConfig" || fail "sshd_config does not turn agent forwarding off"
      grep -q 'DisableForwarding yes' "$sshdConfig" || fail "sshd_config has no DisableForwarding for nix-ssh"
      grep -q 'ForceCommand .*nix-store --serve *$' "$sshdConfig" || fail "nix-ssh is not forced to nix-store --serve"
      touch "$out"
    ''
