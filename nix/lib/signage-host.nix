# What a signage host must allow the bot and its peers, as plain data: the sudo rules for a bot user that is
# not root, the keys peers pull with, the sshd settings, and the checks behind the host module's assertions.
# Builtins only, so the tests evaluate it with plain Nix and check the sudo rules with the real sudo against
# the commands the bot's code builds (test/integration/nix-files.test.ts).
let
  inherit (builtins)
    concatStringsSep
    elemAt
    filter
    head
    length
    map
    match
    replaceStrings
    split
    stringLength
    tail
    ;

  storeDir = "/nix/store";
  systemProfile = "/nix/var/nix/profiles/system";
  # src/core/activation.ts: STAGED_ROOT.
  stagedRoot = "/nix/var/nix/gcroots/signage-bot-staged";
  # Where NixOS puts the system's programs; sudo compares the program the bot runs (found on its PATH) with
  # the path a rule names by file identity, so the profile's symlinks match the store paths behind them.
  nixosBinDir = "/run/current-system/sw/bin";

  # The fixed names of the transient units the activation sequence runs (docs/nixos.md, "What the bot
  # assumes of a host"). The fixed names are what make a second, overlapping run fail instead of interleave.
  units = {
    switch = "nixos-rebuild-switch-to-configuration";
    revert = "signage-revert";
    confirm = "signage-confirm";
    # The boot path: staging a system that needs a reboot, releasing the guard, the guard's revert at once.
    stage = "signage-stage";
    release = "signage-release";
    bootGuard = "signage-boot-guard";
  };

  # The key a host authenticates with when it pulls from a peer (as `nix-ssh`): its own ed25519 host key.
  hostKeyPath = "/etc/ssh/ssh_host_ed25519_key";

  # A store path as POSIX extended regular expression: Nix's base-32 alphabet (no e, o, t, u) and the
  # characters Nix allows in a name, minus "=" (sudoers would need it escaped; no system's name has one).
  storePathRegex = "${storeDir}/[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+._?-]+";
  switchActions = "(switch|boot|test|dry-activate)";
  # How the bot runs a waited-for host-side unit (src/core/activation-sequence.ts).
  transientOptions = "--collect --no-ask-password --pipe --wait --quiet --service-type=exec";

  # One rule: the program (a bare name is looked up in binDir) and what its arguments must be, either
  # `exact` (a list of words) or `regex` (the whole argument string, joined by single spaces, as sudo joins
  # them). `why` says which step of the bot needs it.
  exact = words: { inherit words; };
  regex = re: { inherit re; };

  # A rule for one of the waited-for host-side units of src/core/activation-sequence.ts: systemd-run starts
  # a fixed script (`sh -c SCRIPT NAME PARAMS...`) in the transient unit of a fixed name. `name` is the
  # script's $0, the unit's name unless given; `params` matches its parameters.
  hostUnit =
    {
      why,
      unit,
      name ? unit,
      params,
    }:
    {
      inherit why;
      program = "systemd-run";
      args = regex "--unit=${unit} ${transientOptions} sh -c .+ ${name} ${params}";
    };

  # The commands the bot runs under sudo when its SSH user is not root, in one list that is easy to adjust.
  # Each matches the argv built in src/core/activation.ts and src/core/activation-sequence.ts (the tests
  # check every builder there against these rules with the real sudo). The fixed scripts (`sh -c SCRIPT`)
  # are matched by the name they run under and their parameters, not by their text: their text spans lines,
  # which a sudoers rule cannot spell out.
  botCommands =
    { restartCommand }:
    [
      {
        why = "point the system profile at a confirmed system (setProfileCommand)";
        program = "nix-env";
        args = regex "-p ${systemProfile} --set ${storePathRegex}";
      }
      {
        why = "step the system profile back for a rollback (rollbackProfileCommand)";
        program = "nix-env";
        args = exact [
          "-p"
          systemProfile
          "--rollback"
        ];
      }
      {
        why = "run a system's switch-to-configuration (test to activate, boot to make it the default, switch for a rollback) in the fixed transient unit (switchCommand)";
        program = "systemd-run";
        args = regex "-E LOCALE_ARCHIVE -E NIXOS_INSTALL_BOOTLOADER --collect --no-ask-password --pipe --quiet --service-type=exec --unit=${units.switch} (${storePathRegex}|${systemProfile})/bin/switch-to-configuration ${switchActions}";
      }
      {
        why = "arm the revert: a fixed script (signage-arm) that records the activation and starts the transient timer signage-revert, which brings the previous system back unless disarmed (armCommand)";
        program = "sh";
        args = regex "-c .+ signage-arm [0-9]+ (${storePathRegex})? ${storePathRegex} .+";
      }
      (hostUnit {
        why = "confirm: one host-side unit that disarms the revert, sets the system profile and makes the system the boot default (confirmCommand)";
        unit = units.confirm;
        params = "${storePathRegex}( [0-9]+)?";
      })
      (hostUnit {
        why = "revert at once, in a unit of its own, when a check fails and the host can still be reached (revertCommand)";
        unit = "${units.revert}-now";
        name = units.revert;
        params = "${storePathRegex}( force)?";
      })
      {
        why = "disarm the revert timer once the bot's own revert is done (disarmCommand)";
        program = "systemctl";
        args = exact [
          "stop"
          "${units.revert}.timer"
        ];
      }
      (hostUnit {
        why = "stage a system that needs a reboot: one host-side unit that writes the boot guard's marker, then sets the profile and the boot default (stageCommand)";
        unit = units.stage;
        params = "(${storePathRegex})? ${storePathRegex} [0-9]+";
      })
      (hostUnit {
        why = "after the reboot, the checks passed: take the marker from the boot guard (releaseCommand)";
        unit = units.release;
        params = storePathRegex;
      })
      (hostUnit {
        why = "after the reboot, a check failed: the boot guard's revert at once, previous system as profile and boot default (unstageCommand)";
        unit = "${units.bootGuard}-now";
        params = "now";
      })
      {
        why = "reboot once an approver said yes: a token in /run, then systemctl reboot two seconds later (rebootCommand)";
        program = "sh";
        args = regex "-c .+ signage-reboot [0-9a-z]+";
      }
      {
        why = "import the builder's uplink stream: a fixed script (signage-import) that checks the free space, unpacks each batch into /nix/var/signage-import, rebuilds delta-coded NARs with the store's zstd (or - for none) and imports them with nix copy --from file:// (signatures and NAR hashes checked), given the bytes it needs (uplinkImportCommand)";
        program = "sh";
        args = regex "-c .+ signage-import [0-9]+ [0-9]+ (-|${storePathRegex}/bin/zstd)";
      }
      {
        why = "keep a system copied ahead of its switch from the garbage collector (keepStagedCommand)";
        program = "nix-store";
        args = regex "--realise ${storePathRegex} --add-root ${stagedRoot}";
      }
      {
        why = "drop that root once the system is switched to (dropStagedCommand)";
        program = "rm";
        args = exact [
          "-f"
          stagedRoot
        ];
      }
      {
        why = "restart the display after an approval (restartCommand, the host's restart command)";
        program = head restartCommand;
        args = exact (tail restartCommand);
      }
    ];

  hasPrefix = prefix: s: builtins.substring 0 (stringLength prefix) s == prefix;

  programPath = binDir: program: if hasPrefix "/" program then program else "${binDir}/${program}";

  # sudoers treats ",", ":" and "=" in a command's arguments as syntax unless escaped with a backslash.
  sudoersEscape = replaceStrings [ "," ":" "=" ] [ "\\," "\\:" "\\=" ];

  # The `command` of a security.sudo.extraRules entry. An empty argument list is written as "" because a
  # command without arguments in sudoers allows any arguments.
  sudoCommand =
    binDir: rule:
    let
      path = programPath binDir rule.program;
      args =
        if rule.args ? re then
          "^${rule.args.re}$"
        else if rule.args.words == [ ] then
          "\"\""
        else
          concatStringsSep " " rule.args.words;
    in
    "${path} ${sudoersEscape args}";

  # security.sudo.extraRules for the bot's user: every command as root, without a password (the bot has
  # none and runs `sudo --non-interactive`).
  sudoRules =
    {
      user,
      restartCommand,
      binDir ? nixosBinDir,
    }:
    [
      {
        users = [ user ];
        runAs = "root";
        commands = map (rule: {
          command = sudoCommand binDir rule;
          options = [ "NOPASSWD" ];
        }) (botCommands { inherit restartCommand; });
      }
    ];

  # The sudoers lines NixOS's security.sudo writes for such rules (its toCommandsString), for the tests to
  # hand to the real sudo.
  sudoersLines =
    rules:
    concatStringsSep "\n" (
      builtins.concatMap (
        rule:
        map (
          user:
          "${user}     ALL=(${rule.runAs})    ${
            concatStringsSep ", " (map (c: "${concatStringsSep ":" c.options}: ${c.command}") rule.commands)
          }"
        ) rule.users
      ) rules
    )
    + "\n";

  # An authorized_keys line for a peer: the `restrict` option on top of the serving account's own
  # ForceCommand and Match block, so the key allows no forwarding of any kind, no TTY and no ~/.ssh/rc.
  peerAuthorizedKey = key: "restrict ${key}";

  # Added to sshd_config after NixOS's own `Match User nix-ssh` block (nix.sshServe). That block refuses
  # Unix-socket forwarding, which would let a peer reach the host's nix-daemon socket, only through
  # AllowTcpForwarding no (OpenSSH applies it to Unix sockets too); DisableForwarding names every kind.
  nixSshMatchBlock = ''
    Match User nix-ssh
      DisableForwarding yes
      PermitUserRC no
    Match All
  '';

  words = s: filter (w: builtins.isString w && w != "") (split "[[:space:]]+" s);

  # Each check returns null, or what is wrong in a sentence naming the option.

  # "signage-builder-1:BASE64" with a 32-byte (ed25519) public key, as nix-store --generate-binary-cache-key
  # writes it.
  builderKeyProblem =
    option: key:
    if match "[A-Za-z0-9._+-]+:[A-Za-z0-9+/]{43}=" key == null then
      "${option}: \"${key}\" is not a Nix public signing key (NAME:BASE64, as in the .public file nix-store --generate-binary-cache-key writes)"
    else
      null;

  # "TYPE BASE64 [COMMENT]": one public key, without authorized_keys options (the module adds its own).
  sshKeyProblem =
    option: types: key:
    let
      w = words key;
    in
    # Every OpenSSH public key blob starts with the length of its type name, a small number: "AAAA" in base64.
    if length w < 2 || match "AAAA[A-Za-z0-9+/]+=*" (elemAt w 1) == null then
      "${option}: \"${key}\" is not an SSH public key (TYPE BASE64 [COMMENT], without options)"
    else if !(builtins.elem (head w) types) then
      "${option}: \"${key}\" is of type ${head w}; expected ${concatStringsSep " or " types}"
    else
      null;

  peerKeyProblem =
    option: key:
    let
      problem = sshKeyProblem option [ "ssh-ed25519" ] key;
    in
    if problem == null then
      null
    else
      "${problem}. Peers authenticate with their ed25519 host key (${hostKeyPath}.pub on each screen, or `ssh-keyscan -t ed25519 HOST`)";

  botKeyProblem =
    option: key:
    sshKeyProblem option [
      "ssh-ed25519"
      "ecdsa-sha2-nistp256"
      "ecdsa-sha2-nistp384"
      "ecdsa-sha2-nistp521"
      "sk-ssh-ed25519@openssh.com"
      "sk-ecdsa-sha2-nistp256@openssh.com"
      "ssh-rsa"
    ] key;

  # Words a sudo rule can match exactly: no whitespace, no sudoers wildcards or escapes.
  restartCommandProblem =
    option: argv:
    let
      bad = filter (w: match "[A-Za-z0-9@%+._/-]+" w == null) argv;
    in
    if argv == [ ] then
      "${option} is empty"
    else if bad != [ ] then
      "${option}: \"${head bad}\" cannot be matched exactly by a sudo rule; use words of letters, digits and @%+._/- only"
    else
      null;

  # Whether a nix.settings.allowed-users (or trusted-users) list lets `user` in.
  nixAllows =
    {
      user,
      groups ? [ ],
    }:
    list: builtins.any (e: e == "*" || e == user || builtins.elem e (map (g: "@${g}") groups)) list;
in
{
  inherit
    storeDir
    systemProfile
    stagedRoot
    nixosBinDir
    units
    hostKeyPath
    storePathRegex
    botCommands
    sudoCommand
    sudoRules
    sudoersLines
    peerAuthorizedKey
    nixSshMatchBlock
    builderKeyProblem
    peerKeyProblem
    botKeyProblem
    restartCommandProblem
    nixAllows
    ;
}
