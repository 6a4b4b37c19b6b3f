# services.signage-bot: the Slack bot as a sandboxed systemd service on the builder. docs/nixos.md explains
# the options with an example, and what the signage hosts need in turn.
{
  config,
  lib,
  options,
  pkgs,
  ...
}:
let
  inherit (lib)
    literalExpression
    mkEnableOption
    mkIf
    mkOption
    optionalAttrs
    types
    ;

  cfg = config.services.signage-bot;
  opts = options.services.signage-bot;
  settingsLib = import ./lib/settings.nix;
  hardening = import ./lib/hardening.nix;
  json = pkgs.formats.json { };

  o = name: "services.signage-bot.${name}";

  # An optional field of the configuration file: left out when unset, so the bot's own default applies.
  field =
    type: description:
    mkOption {
      type = types.nullOr type;
      default = null;
      inherit description;
    };

  section =
    description: options:
    mkOption {
      type = types.submodule {
        freeformType = json.type;
        inherit options;
      };
      default = { };
      inherit description;
    };

  hostFields = {
    address = field types.str "Address ssh connects to (the tailnet name). Defaults to the host's name.";
    lanAddress = field types.str "Address peers on the same LAN copy from.";
    port = field types.port "SSH port.";
    user = field types.str "SSH user on the host.";
    site = field types.str "Site (office) the host is in; peers are only sought within a site.";
    tags = field (types.listOf types.str) "Tags, for `@tag` in commands.";
    restartCommand = field (types.nonEmptyListOf types.str) "Command (argument list) that restarts the display.";
  };

  settingsType = types.submodule {
    freeformType = json.type;
    options = {
      flake = mkOption {
        type = types.str;
        example = "github:office/signage-fleet";
        description = "Flake that defines `nixosConfigurations` for the screens. A local path must be outside /home and /root, which the service cannot see.";
      };
      stateDir = mkOption {
        type = types.str;
        default = "/var/lib/signage-bot";
        description = "State directory (database, GC roots). Must be under /var/lib, where systemd's StateDirectory= creates it for the service user.";
      };
      builder = section "The builder." {
        signingKeyFile = field types.str "Prefer `services.signage-bot.signingKeyFile`, which loads the key as a credential.";
      };
      ssh = section "How the bot reaches the hosts." {
        knownHostsFile = field types.str "Prefer `services.signage-bot.sshKnownHosts`.";
        identityFile = field types.str "Prefer `services.signage-bot.sshIdentityFile`.";
        agentSocket = field types.str "Prefer `services.signage-bot.sshAgentSocket`.";
        connectTimeoutSeconds = field (types.ints.between 1 600) "SSH connect timeout (the bot's default: 10).";
        commandTimeoutSeconds = field (types.ints.between 1 86400) "Timeout of one remote command or copy (the bot's default: 900).";
      };
      defaults = section "Defaults for every host (the bot's: user root, port 22, site office, restart display-manager.service)." (
        removeAttrs hostFields [
          "address"
          "lanAddress"
        ]
      );
      hosts = mkOption {
        type = types.attrsOf (
          types.submodule {
            freeformType = json.type;
            options = hostFields;
          }
        );
        default = { };
        example = literalExpression ''{ baard-entrance = { address = "baard-entrance.tail1234.ts.net"; lanAddress = "10.0.4.21"; site = "baard"; }; }'';
        description = "Per-host settings, by `nixosConfigurations` name. Hosts of the flake not listed here use the defaults.";
      };
      limits = section "Concurrency and timeouts." {
        parallelHosts = field (types.ints.between 1 64) "Hosts worked on at once (the bot's default: 4).";
        parallelPeerCopies = field (types.ints.between 1 16) "Peer-to-peer copies at once (the bot's default: 3).";
        approvalTimeoutMinutes = field (types.ints.between 1 10080) "How long a restart question waits for an approver (the bot's default: 30).";
      };
      slack = section "Slack." {
        mode = field (types.enum [
          "socket"
          "http"
        ]) "`socket` (Socket Mode, outbound only; the bot's default) or `http` (Slack calls the bot's port).";
        port = field types.port "HTTP port in `http` mode (the bot's default: 3000).";
        channel = field types.str "Channel ID for the scheduled fleet report (required while `schedule.status` is on).";
        approvers = section "Who may approve display restarts." {
          users = mkOption {
            type = types.listOf types.str;
            default = [ ];
            description = "Slack user IDs.";
          };
          usergroup = field types.str "A Slack user group ID.";
        };
        deployers = field (types.listOf types.str) "Slack user IDs allowed to deploy.";
        viewers = field (types.either (types.enum [ "everyone" ]) (types.listOf types.str)) "`everyone` (the bot's default) or Slack user IDs allowed to see status.";
        channels = field (types.listOf types.str) "Channel IDs the bot answers in.";
      };
      schedule = section "Scheduled jobs (cron expressions)." {
        status = field (types.either types.str (types.enum [ false ])) "Fleet status report, or false for none (the bot's default: every 15 minutes).";
        expireApprovals = field types.str "How often unanswered restart questions expire (the bot's default: every minute).";
        timezone = field types.str "IANA time zone for the cron expressions.";
      };
    };
  };

  usingSettings = cfg.configFile == null;
  stateDir = if usingSettings then cfg.settings.stateDir else "/var/lib/signage-bot";
  stateDirectoryName = lib.removePrefix "/var/lib/" stateDir;

  knownHostsFile =
    if cfg.sshKnownHosts == [ ] then
      null
    else
      "${pkgs.writeText "signage-bot-known_hosts" (lib.concatLines cfg.sshKnownHosts)}";

  rendered = settingsLib.render {
    inherit (cfg)
      settings
      signingKeyFile
      sshIdentityFile
      sshAgentSocket
      ;
    inherit knownHostsFile;
  };

  configPath =
    if usingSettings then
      pkgs.writeText "signage-bot.json" (builtins.toJSON rendered)
    else
      cfg.configFile;

  slack = cfg.settings.slack;
  httpMode = usingSettings && slack.mode == "http";
  httpPort = if slack.port == null then 3000 else slack.port;

  # A check that found nothing wrong is null.
  problemAssertions = problems: map (message: { assertion = false; inherit message; }) (lib.filter (p: p != null) problems);

  nixAllows =
    list: lib.any (entry: entry == "*" || entry == cfg.user || entry == "@${cfg.group}") list;
in
{
  options.services.signage-bot = {
    enable = mkEnableOption "signage-bot, the Slack bot that deploys the signage screens";

    package = mkOption {
      type = types.package;
      default = pkgs.signage-bot or (pkgs.callPackage ./package.nix { });
      defaultText = literalExpression "pkgs.signage-bot or (pkgs.callPackage ./nix/package.nix { })";
      description = "The signage-bot package.";
    };

    user = mkOption {
      type = types.str;
      default = "signage-bot";
      description = "User the bot runs as. The default user is created as a system user; another must exist already.";
    };

    group = mkOption {
      type = types.str;
      default = "signage-bot";
      description = "Group the bot runs as. The default group is created.";
    };

    settings = mkOption {
      type = settingsType;
      default = { };
      example = literalExpression ''
        {
          flake = "github:office/signage-fleet";
          slack = { channel = "C0123ABCD"; approvers.users = [ "U0123ABCD" ]; };
          hosts.baard-entrance = { address = "baard-entrance.tail1234.ts.net"; lanAddress = "10.0.4.21"; };
        }
      '';
      description = ''
        The bot's configuration (docs/configuration.md), written to the store as JSON. Fields left unset
        are left out, so the bot's defaults apply. Secrets do not belong here: use signingKeyFile,
        sshIdentityFile and credentials, which the module turns into paths under
        ${settingsLib.credentialsDir}. Not together with configFile.
      '';
    };

    configFile = mkOption {
      type = types.nullOr types.path;
      default = null;
      description = ''
        A configuration file (YAML or JSON) to use instead of settings. Secret paths in it must point where
        the service can read them, e.g. ${settingsLib.credentialPath settingsLib.credentialNames.signingKey}
        with signingKeyFile set.
      '';
    };

    environmentFile = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "/var/lib/secrets/signage-bot.env";
      description = "File of environment variables (EnvironmentFile=), e.g. SLACK_BOT_TOKEN=… and SLACK_APP_TOKEN=…; outside the store.";
    };

    credentials = mkOption {
      type = types.attrsOf types.str;
      default = { };
      example = {
        slack-bot-token = "/var/lib/secrets/slack-bot-token";
        slack-app-token = "/var/lib/secrets/slack-app-token";
      };
      description = ''
        Files loaded as systemd credentials (LoadCredential=), by credential name. The bot reads
        slack-bot-token, slack-app-token (socket mode) and slack-signing-secret (http mode) from
        $CREDENTIALS_DIRECTORY when they are not in its environment.
      '';
    };

    signingKeyFile = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "/var/lib/secrets/signage-builder-1.secret";
      description = "The builder's secret signing key (nix-store --generate-binary-cache-key), loaded as a credential; the signage hosts trust its public key.";
    };

    sshIdentityFile = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "/var/lib/secrets/signage-bot-ssh";
      description = "Private SSH key for the hosts, loaded as a credential; it only signs the bot's own logins (no agent is ever forwarded to a host). Not together with sshAgentSocket.";
    };

    sshAgentSocket = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "/run/signage-agent/agent.sock";
      description = "Socket of an ssh-agent that holds the key for the hosts, instead of sshIdentityFile. The service must be able to reach it: not under ${lib.concatStringsSep ", " settingsLib.hiddenFromService}.";
    };

    sshKnownHosts = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "baard-entrance.tail1234.ts.net ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI..." ];
      description = "known_hosts lines with every host's key (for the address the bot uses). Peer copies are checked against the same keys, at each host's lanAddress.";
    };

    trustedUser = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Add the bot's user to nix.settings.trusted-users. Not needed with Nix 2.17 or later, where any allowed
        user may sign store paths; older Nix lets only trusted users sign. A trusted user is as powerful as
        root on this machine, so leave it off unless the builder's Nix is older.
      '';
    };

    openFirewall = mkOption {
      type = types.bool;
      default = false;
      description = "Open the HTTP port in the firewall (only for settings.slack.mode = \"http\"; Socket Mode needs no open port).";
    };
  };

  config = mkIf cfg.enable {
    assertions = [
      {
        assertion = !(cfg.configFile != null && opts.settings.highestPrio < 1500);
        message = "${o "configFile"} and ${o "settings"} are both set; use one of them.";
      }
      {
        assertion = config.nix.enable;
        message = "${o "enable"} needs the Nix daemon (nix.enable): the bot builds and copies through it.";
      }
      {
        assertion =
          !config.nix.enable
          || cfg.trustedUser
          || nixAllows config.nix.settings.allowed-users
          || nixAllows config.nix.settings.trusted-users;
        message = "${o "user"} \"${cfg.user}\" is not in nix.settings.allowed-users, so the Nix daemon will refuse it; add \"${cfg.user}\" (or \"@${cfg.group}\") there.";
      }
      {
        assertion = !cfg.openFirewall || httpMode;
        message =
          "${o "openFirewall"} opens the HTTP port of ${o "settings.slack.mode"} = \"http\", which is not in use"
          + (if usingSettings then "; Socket Mode connects out and needs no open port." else " with configFile; open the port with networking.firewall.allowedTCPPorts instead.");
      }
      {
        assertion = !httpMode || httpPort >= 1024;
        message = "${o "settings.slack.port"} = ${toString httpPort} is below 1024, which needs a capability the service does not have; use a port from 1024 (behind a reverse proxy if Slack must reach 443).";
      }
    ]
    ++ problemAssertions (
      [
        (settingsLib.secretPathProblem (o "signingKeyFile") cfg.signingKeyFile)
        (settingsLib.secretPathProblem (o "sshIdentityFile") cfg.sshIdentityFile)
        (settingsLib.secretPathProblem (o "environmentFile") cfg.environmentFile)
        (settingsLib.agentSocketProblem (o "sshAgentSocket") cfg.sshAgentSocket)
      ]
      ++ lib.mapAttrsToList (
        name: path:
        let
          option = "${o "credentials"}.\"${name}\"";
        in
        if settingsLib.credentialNameProblem option name != null then
          settingsLib.credentialNameProblem option name
        else
          settingsLib.secretPathProblem option path
      ) cfg.credentials
      ++ lib.optionals usingSettings (
        let
          s = cfg.settings;
          both = a: b: a != null && b != null;
          neither = a: b: a == null && b == null;
        in
        [
          (settingsLib.secretPathProblem (o "settings.builder.signingKeyFile") s.builder.signingKeyFile)
          (settingsLib.secretPathProblem (o "settings.ssh.identityFile") s.ssh.identityFile)
          (settingsLib.agentSocketProblem (o "settings.ssh.agentSocket") s.ssh.agentSocket)
          (
            if !(lib.hasPrefix "/var/lib/" s.stateDir) || lib.hasInfix "/../" "${s.stateDir}/" || s.stateDir == "/var/lib/" then
              "${o "settings.stateDir"} must be a directory under /var/lib (systemd's StateDirectory= creates it for the service), got \"${s.stateDir}\"."
            else
              null
          )
          (
            if neither cfg.signingKeyFile s.builder.signingKeyFile then
              "${o "signingKeyFile"} is not set: the builder must sign what it builds, or the signage hosts refuse it (docs/nixos.md)."
            else if both cfg.signingKeyFile s.builder.signingKeyFile then
              "${o "signingKeyFile"} and ${o "settings.builder.signingKeyFile"} are both set; use ${o "signingKeyFile"}."
            else
              null
          )
          (
            if neither knownHostsFile s.ssh.knownHostsFile then
              "${o "sshKnownHosts"} is empty: the bot checks every host key and needs the hosts' keys (or set ${o "settings.ssh.knownHostsFile"})."
            else if both knownHostsFile s.ssh.knownHostsFile then
              "${o "sshKnownHosts"} and ${o "settings.ssh.knownHostsFile"} are both set; use one."
            else
              null
          )
          (
            let
              identity = cfg.sshIdentityFile != null || s.ssh.identityFile != null;
              agent = cfg.sshAgentSocket != null || s.ssh.agentSocket != null;
            in
            if identity == agent then
              "Set exactly one of ${o "sshIdentityFile"} and ${o "sshAgentSocket"}."
            else
              null
          )
          (
            if s.slack.approvers.users == [ ] && s.slack.approvers.usergroup == null then
              "${o "settings.slack.approvers"}: name at least one approver (users or usergroup) who may approve display restarts."
            else
              null
          )
          (
            if s.slack.channel == null && s.schedule.status != false then
              "${o "settings.slack.channel"} is needed for the scheduled fleet report (or set ${o "settings.schedule.status"} = false)."
            else
              null
          )
        ]
      )
      ++ lib.imap1 (
        i: line:
        if builtins.length (lib.filter (w: w != "") (lib.splitString " " line)) < 3 then
          "${o "sshKnownHosts"} line ${toString i} is not \"HOSTS KEYTYPE KEY\": \"${line}\""
        else
          null
      ) cfg.sshKnownHosts
    );

    users.users = mkIf (cfg.user == "signage-bot") {
      signage-bot = {
        isSystemUser = true;
        inherit (cfg) group;
        home = stateDir;
        description = "signage-bot Slack deployer";
      };
    };
    users.groups = mkIf (cfg.group == "signage-bot") { signage-bot = { }; };

    nix.settings.trusted-users = mkIf cfg.trustedUser [ cfg.user ];

    networking.firewall.allowedTCPPorts = mkIf (cfg.openFirewall && httpMode) [ httpPort ];

    systemd.services.signage-bot = {
      description = "signage-bot: Slack chat-ops for the signage screens";
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      after = [
        "network-online.target"
        "nix-daemon.socket"
      ];
      # Flake inputs fetched over git need git; nix and ssh come with the package.
      path = [ pkgs.git ];
      environment = {
        HOME = stateDir;
        XDG_CACHE_HOME = "/var/cache/signage-bot";
        # The store is read-only here: always go through the daemon.
        NIX_REMOTE = "daemon";
      };
      serviceConfig =
        hardening
        // {
          Type = "simple";
          User = cfg.user;
          Group = cfg.group;
          ExecStart = "${lib.getExe' cfg.package "signage-bot"} --config ${configPath}";
          WorkingDirectory = stateDir;
          StateDirectory = stateDirectoryName;
          StateDirectoryMode = "0700";
          CacheDirectory = "signage-bot";
          CacheDirectoryMode = "0700";
          LoadCredential = settingsLib.loadCredentials {
            inherit (cfg) signingKeyFile sshIdentityFile credentials;
          };
          Restart = "on-failure";
          RestartSec = "10s";
          # Exit status 2 is a bad configuration or missing credentials: restarting cannot help.
          RestartPreventExitStatus = "2";
        }
        // optionalAttrs (cfg.environmentFile != null) { EnvironmentFile = cfg.environmentFile; };
    };
  };
}
