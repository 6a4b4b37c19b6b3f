# The bot's configuration file as the NixOS module writes it, the credentials the unit loads, and the checks
# behind the module's assertions. Builtins only, so the tests evaluate it with plain Nix and feed what it
# renders to the bot's own parser.
#
# Secrets never enter the Nix store (every user can read it): the unit loads each secret file as a systemd
# credential, and the configuration names the credential's path under /run/credentials, which only the
# service sees.
let
  inherit (builtins)
    any
    attrNames
    concatStringsSep
    filter
    isAttrs
    isList
    isString
    mapAttrs
    match
    removeAttrs
    stringLength
    substring
    ;

  unit = "signage-bot.service";
  credentialsDir = "/run/credentials/${unit}";

  # The credentials the module itself loads; the names `credentials` may not take.
  credentialNames = {
    signingKey = "signing-key";
    sshIdentity = "ssh-identity";
  };

  credentialPath = name: "${credentialsDir}/${name}";

  hasPrefix = prefix: s: substring 0 (stringLength prefix) s == prefix;

  # Options left unset are null; the bot applies its own default to a field that is left out.
  dropNulls =
    value:
    if isAttrs value then
      mapAttrs (_: dropNulls) (removeAttrs value (filter (n: value.${n} == null) (attrNames value)))
    else if isList value then
      map dropNulls value
    else
      value;

  # The configuration the bot reads. `settings` is services.signage-bot.settings; the other arguments are
  # the module's own options: the two secret files become credential paths, the agent socket and the
  # known_hosts file (public keys, so a store path is fine) go in as they are.
  render =
    {
      settings,
      signingKeyFile ? null,
      sshIdentityFile ? null,
      sshAgentSocket ? null,
      knownHostsFile ? null,
    }:
    let
      given = dropNulls settings;
      only = cond: attrs: if cond then attrs else { };
    in
    given
    // {
      builder =
        (given.builder or { })
        // only (signingKeyFile != null) { signingKeyFile = credentialPath credentialNames.signingKey; };
      ssh =
        (given.ssh or { })
        // only (sshIdentityFile != null) { identityFile = credentialPath credentialNames.sshIdentity; }
        // only (sshAgentSocket != null) { agentSocket = sshAgentSocket; }
        // only (knownHostsFile != null) { knownHostsFile = "${knownHostsFile}"; };
    };

  # LoadCredential= lines: the module's two secret files, then `credentials` (name -> path).
  loadCredentials =
    {
      signingKeyFile ? null,
      sshIdentityFile ? null,
      credentials ? { },
    }:
    (if signingKeyFile == null then [ ] else [ "${credentialNames.signingKey}:${signingKeyFile}" ])
    ++ (if sshIdentityFile == null then [ ] else [ "${credentialNames.sshIdentity}:${sshIdentityFile}" ])
    ++ map (name: "${name}:${credentials.${name}}") (attrNames credentials);

  hasSpace = s: match ".*[[:space:]].*" s != null;

  # Each check returns null, or what is wrong in a sentence naming the option.

  # A file the service reads a secret from: absolute (systemd and the bot resolve nothing relative to a
  # working directory here), and outside the store.
  secretPathProblem =
    option: path:
    if path == null then
      null
    else if !isString path then
      "${option} must be a path given as a string (\"/run/keys/...\"): a Nix path value is copied into the Nix store, which every user can read"
    else if !hasPrefix "/" path then
      "${option} must be an absolute path, got \"${path}\""
    else if hasPrefix "${builtins.storeDir}/" path then
      "${option} is in the Nix store (${path}), which every user can read; keep secrets outside it, e.g. under /var/lib/secrets"
    else if hasSpace path then
      "${option} may not contain whitespace (the bot passes it to ssh and Nix options), got \"${path}\""
    else
      null;

  # systemd credential names are file names under $CREDENTIALS_DIRECTORY; LoadCredential= splits NAME:PATH
  # at the first colon.
  credentialNameProblem =
    option: name:
    if name == "" || name == "." || name == ".." || stringLength name > 255 then
      "${option}: \"${name}\" is not a credential name (a file name: not empty, \".\" or \"..\", at most 255 characters)"
    else if match ".*[/:[:space:]].*" name != null then
      "${option}: credential name \"${name}\" may not contain \"/\", \":\" or whitespace"
    else if any (reserved: reserved == name) (builtins.attrValues credentialNames) then
      "${option}: the credential name \"${name}\" is taken by the module (signingKeyFile loads \"${credentialNames.signingKey}\", sshIdentityFile \"${credentialNames.sshIdentity}\"); use those options instead"
    else
      null;

  # Directories the service's sandbox hides: ProtectHome= hides /home, /root and /run/user; PrivateTmp=
  # gives the service its own /tmp and /var/tmp.
  hiddenFromService = [
    "/home"
    "/root"
    "/run/user"
    "/tmp"
    "/var/tmp"
  ];

  agentSocketProblem =
    option: path:
    let
      hiddenUnder = filter (dir: path == dir || hasPrefix "${dir}/" path) hiddenFromService;
    in
    if path == null then
      null
    else if !isString path || !hasPrefix "/" path then
      "${option} must be an absolute path to an ssh-agent socket, got \"${toString path}\""
    else if hiddenUnder != [ ] then
      "${option} = \"${path}\" is under ${builtins.head hiddenUnder}, which the service's sandbox hides (it cannot see ${concatStringsSep ", " hiddenFromService}); run the agent with its socket elsewhere, e.g. under /run/signage-agent, or use sshIdentityFile"
    else if hasSpace path then
      "${option} may not contain whitespace, got \"${path}\""
    else
      null;
in
{
  inherit
    unit
    credentialsDir
    credentialNames
    credentialPath
    dropNulls
    render
    loadCredentials
    secretPathProblem
    credentialNameProblem
    agentSocketProblem
    hiddenFromService
    ;

  toJSON = args: builtins.toJSON (render args);
}
