# services.signage-host: what a signage screen needs to be deployed by signage-bot and to serve its peers,
# and nothing more. docs/nixos.md ("The signage hosts", "What the bot assumes of a host") explains each part;
# nix/lib/signage-host.nix holds the rules and checks as plain data, which the tests evaluate.
{
  config,
  lib,
  ...
}:
let
  inherit (lib)
    literalExpression
    mkDefault
    mkEnableOption
    mkIf
    mkOption
    types
    ;

  cfg = config.services.signage-host;
  host = import ./lib/signage-host.nix;
  o = name: "services.signage-host.${name}";

  botIsRoot = cfg.bot.user == "root";
  botAccount = config.users.users.${cfg.bot.user} or { };
  botGroups = if botIsRoot then [ ] else [ (botAccount.group or cfg.bot.user) ] ++ (botAccount.extraGroups or [ ]);
  kioskService = lib.removeSuffix ".service" cfg.kioskUnit;

  # A check that found nothing wrong is null.
  problemAssertions =
    problems:
    map (message: {
      assertion = false;
      inherit message;
    }) (lib.filter (p: p != null) problems);
in
{
  options.services.signage-host = {
    enable = mkEnableOption "the pieces a signage screen needs to be deployed by signage-bot and to serve its peers read-only";

    builderKeys = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "signage-builder-1:70LfcL9ngpxazxkpKPZRvZR+8KGwd+yXN0WIn/n7Pd0=" ];
      description = ''
        Public signing keys of the builder (its `.public` file). Added to nix.settings.trusted-public-keys, so
        the host accepts the bot's paths, from the builder or from a peer, only with the builder's signature.
        List the old and the new key while replacing one.
      '';
    };

    peerKeys = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI... baard-kitchen" ];
      description = ''
        The ed25519 SSH host public keys of the other screens that may pull from this one (the fleet's
        /etc/ssh/ssh_host_ed25519_key.pub files; the same keys the bot's known_hosts holds). They become
        nix.sshServe.keys, with `restrict`: the restricted `nix-ssh` account, whose only command is
        `nix-store --serve` without `--write`. Empty: this host serves no peer (it can still pull from peers).
      '';
    };

    bot = {
      keys = mkOption {
        type = types.listOf types.str;
        default = [ ];
        example = [ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI... signage-bot" ];
        description = ''
          The bot's SSH public key(s), authorised for bot.user with `restrict` (no forwarding, no TTY: the bot
          only runs commands).
        '';
      };

      user = mkOption {
        type = types.str;
        default = "root";
        description = ''
          The account the bot logs in as (the bot's `defaults.user` or the host's `user` must say the same).
          root needs nothing else. Another user gets exactly the sudo rules the bot needs (docs/nixos.md);
          they still amount to root, since activating a system is root's work.
        '';
      };

      createUser = mkOption {
        type = types.bool;
        default = true;
        description = "Create bot.user (when it is not root) as a system user with a shell and a home under /var/lib.";
      };
    };

    restartCommand = mkOption {
      type = types.nonEmptyListOf types.str;
      default = [
        "systemctl"
        "restart"
        cfg.kioskUnit
      ];
      defaultText = literalExpression ''[ "systemctl" "restart" config.services.signage-host.kioskUnit ]'';
      description = ''
        The bot's restart command for this host (its `restartCommand` setting), as an argument list. Only
        used for the sudo rule of a bot.user that is not root, which allows exactly this command.
      '';
    };

    kioskUnit = mkOption {
      type = types.str;
      default = "display-manager.service";
      example = "cage-tty1.service";
      description = ''
        The unit that shows the screen: the one the bot's default restart command restarts and its default
        kiosk health check expects active. This system must define it; a kiosk run by another unit (cage,
        for example) sets it here and in the bot's settings for the host.
      '';
    };

    healthCheckPackages = mkOption {
      type = types.listOf types.package;
      default = [ ];
      example = literalExpression "[ pkgs.curl ]";
      description = ''
        Programs this host's health checks run that the system does not already have (for example curl for
        an HTTP probe of the kiosk page). The default checks need only systemctl.
      '';
    };
  };

  config = mkIf cfg.enable {
    assertions =
      problemAssertions (
        [
          (if cfg.builderKeys == [ ] then "${o "builderKeys"} is empty: the host would accept no path the bot sends (add the builder's public signing key, the .public file of nix-store --generate-binary-cache-key)" else null)
          (if !config.nix.enable then "nix.enable is off: the bot copies to and activates through this host's Nix, and peers read its store through the Nix daemon" else null)
          (if cfg.bot.keys == [ ] then "${o "bot.keys"} is empty: the bot could not log in (add the public half of the bot's sshIdentityFile)" else null)
          (if !config.nix.settings.require-sigs then "nix.settings.require-sigs is off: ${o "enable"} relies on the builder's signature on every path a peer hands this host" else null)
          (
            if !lib.any (k: (k.type or null) == "ed25519" && k.path == host.hostKeyPath) config.services.openssh.hostKeys then
              "services.openssh.hostKeys has no ed25519 key at ${host.hostKeyPath}: this host authenticates to its peers with that key (and they list its public half in ${o "peerKeys"})"
            else
              null
          )
          (if config.nix.sshServe.write then "nix.sshServe.write is on: peers could write to this host's store; ${o "enable"} serves it read-only" else null)
          (
            if (config.nix.sshServe.trusted or false) || lib.elem "nix-ssh" config.nix.settings.trusted-users then
              "nix-ssh is a trusted Nix user (nix.sshServe.trusted or nix.settings.trusted-users): a peer could then pass paths without the builder's signature"
            else
              null
          )
          (
            if !host.nixAllows { user = "nix-ssh"; groups = [ "nix-ssh" ]; } config.nix.settings.allowed-users then
              "nix.settings.allowed-users does not let nix-ssh use the Nix daemon, so peers could not read this host's store (add \"nix-ssh\")"
            else
              null
          )
          (
            if !botIsRoot && !host.nixAllows { user = cfg.bot.user; groups = botGroups; } config.nix.settings.allowed-users then
              "nix.settings.allowed-users does not let ${o "bot.user"} \"${cfg.bot.user}\" use the Nix daemon, which the bot's copies and queries need"
            else
              null
          )
          (
            if botIsRoot && config.services.openssh.settings.PermitRootLogin == "no" then
              "services.openssh.settings.PermitRootLogin is \"no\" but ${o "bot.user"} is root: allow \"prohibit-password\" (key only, NixOS's default) or give the bot its own user"
            else
              null
          )
          (if !botIsRoot && !config.security.sudo.enable then "${o "bot.user"} \"${cfg.bot.user}\" is not root, so the bot needs sudo: enable security.sudo (sudo-rs cannot express its rules: they match arguments with regular expressions)" else null)
          (
            if !botIsRoot && config.security.sudo.enable && config.security.sudo.execWheelOnly && !lib.elem "wheel" botGroups then
              "security.sudo.execWheelOnly is on and ${o "bot.user"} \"${cfg.bot.user}\" is not in wheel, so it cannot run sudo"
            else
              null
          )
          (if !botIsRoot then host.restartCommandProblem (o "restartCommand") cfg.restartCommand else null)
          (
            if lib.hasSuffix ".service" cfg.kioskUnit && !(config.systemd.services ? ${kioskService}) then
              "${o "kioskUnit"} is ${cfg.kioskUnit}, which this system does not define: the bot's kiosk health check would fail and revert every deploy (set it to the unit that shows the screen)"
            else
              null
          )
        ]
        ++ map (host.builderKeyProblem (o "builderKeys")) cfg.builderKeys
        ++ map (host.peerKeyProblem (o "peerKeys")) cfg.peerKeys
        ++ map (host.botKeyProblem (o "bot.keys")) cfg.bot.keys
      );

    nix.settings.trusted-public-keys = cfg.builderKeys;

    # Peers pull from this host as nix-ssh: forced command `nix-store --serve`, read-only, every key restricted.
    nix.sshServe = {
      enable = true;
      protocol = "ssh";
      keys = map host.peerAuthorizedKey cfg.peerKeys;
    };
    services.openssh.extraConfig = host.nixSshMatchBlock;

    # No agent reaches a screen: the bot forwards none, and nothing on a screen may ask for one.
    services.openssh.settings.AllowAgentForwarding = false;
    # Screens stand in public places: keys only.
    services.openssh.settings.PasswordAuthentication = mkDefault false;
    services.openssh.settings.KbdInteractiveAuthentication = mkDefault false;

    users.users.${cfg.bot.user} = lib.mkMerge [
      { openssh.authorizedKeys.keys = map (key: "restrict ${key}") cfg.bot.keys; }
      (mkIf (!botIsRoot && cfg.bot.createUser) {
        isSystemUser = true;
        group = cfg.bot.user;
        useDefaultShell = true;
        home = "/var/lib/${cfg.bot.user}";
        createHome = true;
        description = "signage-bot deployments";
      })
    ];
    users.groups = mkIf (!botIsRoot && cfg.bot.createUser) { ${cfg.bot.user} = { }; };

    security.sudo.extraRules = mkIf (!botIsRoot) (
      host.sudoRules {
        user = cfg.bot.user;
        inherit (cfg) restartCommand;
      }
    );

    environment.systemPackages = cfg.healthCheckPackages;

    # The revert timer and the confirmation are transient units (systemd-run) running fixed scripts the bot
    # sends with the previous system as a parameter: nothing to install for them here.

    # The boot guard (docs/nixos.md, "The boot guard"): a system staged with `boot` for a reboot is undone at
    # boot unless the bot confirms it in time. It must run at boot, so it is a unit of the system itself, and
    # every system that may be staged carries it (the bot refuses one that does not). It runs once a boot:
    # RemainAfterExit and restartIfChanged keep a later switch from starting it again.
    systemd.services.${host.units.bootGuard} = {
      description = "signage-bot boot guard: undo a system staged for this boot unless the bot confirms it";
      wantedBy = [ "multi-user.target" ];
      path = [ config.nix.package ];
      restartIfChanged = false;
      serviceConfig = {
        Type = "exec";
        RemainAfterExit = true;
        ExecStart = "/bin/sh ${./lib/boot-guard.sh}";
      };
    };
  };
}
