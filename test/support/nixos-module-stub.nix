# For the tests only: evaluates ONE NixOS module on its own, without nixpkgs, to see what it declares and
# defines. It is not the NixOS module system and checks less than it does:
# - `lib` has only the handful of functions the host module uses; mkIf, mkMerge and mkDefault become
#   markers that `definitions` resolves (a false mkIf drops its content; mkDefault is kept as
#   { _default = VALUE; } so a test can tell it from a plain definition);
# - the module's own option values are what the test sets, else the option's default, checked against a
#   few types (str, bool, package, listOf, nonEmptyListOf);
# - the rest of the system (`config` outside the module's options) is `system` below: the NixOS defaults
#   the module reads, copied by hand, overridden by what the test gives. Nothing checks that the options
#   the module sets exist in NixOS or have those types, nor how its definitions merge with other modules;
#   `checks.<system>.host-module` does that with nixpkgs.
{
  module,
  # The module's option values, by option path below `prefix`.
  settings ? { },
  # The rest of the system's configuration, merged over the defaults below.
  system ? { },
  prefix ? [
    "services"
    "signage-host"
  ],
}:
let
  inherit (builtins)
    all
    attrNames
    concatMap
    filter
    foldl'
    isAttrs
    isBool
    isList
    isString
    mapAttrs
    stringLength
    substring
    ;

  types = {
    str = {
      name = "str";
      check = isString;
    };
    bool = {
      name = "bool";
      check = isBool;
    };
    package = {
      name = "package";
      check = v: isAttrs v || isString v;
    };
    listOf = t: {
      name = "listOf ${t.name}";
      check = v: isList v && all t.check v;
    };
    nonEmptyListOf = t: {
      name = "nonEmptyListOf ${t.name}";
      check = v: isList v && v != [ ] && all t.check v;
    };
  };

  hasSuffix =
    suffix: s:
    let
      n = stringLength s;
      k = stringLength suffix;
    in
    n >= k && substring (n - k) k s == suffix;

  lib = {
    inherit types hasSuffix;
    inherit (builtins) any elem filter;
    mkOption = attrs: attrs // { _type = "option"; };
    mkEnableOption = name: {
      _type = "option";
      type = types.bool;
      default = false;
      description = "Whether to enable ${name}.";
    };
    literalExpression = text: {
      _type = "literalExpression";
      inherit text;
    };
    mkIf = condition: content: {
      _type = "if";
      inherit condition content;
    };
    mkMerge = contents: {
      _type = "merge";
      inherit contents;
    };
    mkDefault = content: {
      _type = "override";
      inherit content;
    };
    removeSuffix =
      suffix: s:
      if hasSuffix suffix s then substring 0 (stringLength s - stringLength suffix) s else s;
  };

  # What NixOS's own modules give the options the host module reads, when nothing else sets them (option
  # defaults, and the nix module's own definitions of trusted-users).
  nixosDefaults = {
    nix.enable = true;
    nix.package = "nix-package-stand-in";
    nix.settings = {
      require-sigs = true;
      allowed-users = [ "*" ];
      trusted-users = [ "root" ];
    };
    nix.sshServe = {
      write = false;
      trusted = false;
    };
    services.openssh.settings.PermitRootLogin = "prohibit-password";
    services.openssh.hostKeys = [
      {
        type = "rsa";
        bits = 4096;
        path = "/etc/ssh/ssh_host_rsa_key";
      }
      {
        type = "ed25519";
        path = "/etc/ssh/ssh_host_ed25519_key";
      }
    ];
    security.sudo = {
      enable = true;
      execWheelOnly = false;
    };
    systemd.services = { };
    users.users = { };
  };

  # Attribute sets merged recursively, the right one winning; lists are replaced, not concatenated.
  merge =
    a: b:
    if isAttrs a && isAttrs b && !(a ? _type) && !(b ? _type) then
      a // mapAttrs (n: v: if a ? ${n} then merge a.${n} v else v) b
    else
      b;

  isOption = v: isAttrs v && (v._type or null) == "option";

  # The module's option values: what `given` sets, else the default; each checked against its type.
  values =
    decls: given: path:
    mapAttrs (
      name: d:
      let
        here = "${path}.${name}";
      in
      if isOption d then
        let
          v = if given ? ${name} then given.${name} else d.default;
        in
        if d.type.check v then v else throw "${here}: ${builtins.toJSON v} is not a ${d.type.name}"
      else
        values d (given.${name} or { }) here
    ) decls;

  at = path: attrs: foldl' (a: n: a.${n}) attrs path;
  nest = path: value: foldl' (acc: n: { ${n} = acc; }) value (builtins.genList (i: builtins.elemAt path (builtins.length path - 1 - i)) (builtins.length path));

  evaluated = module {
    inherit lib config;
    pkgs = { };
    options = { };
  };
  declared = at prefix evaluated.options;
  config = merge (merge nixosDefaults system) (nest prefix (values declared settings (builtins.concatStringsSep "." prefix)));

  # A definition with mkIf, mkMerge and mkDefault resolved; null where a false mkIf left nothing.
  resolve =
    v:
    if !isAttrs v then
      v
    else if (v._type or null) == "if" then
      (if v.condition then resolve v.content else null)
    else if (v._type or null) == "merge" then
      foldl' combine null (map resolve v.contents)
    else if (v._type or null) == "override" then
      { _default = resolve v.content; }
    else
      let
        resolved = mapAttrs (_: resolve) v;
      in
      removeAttrs resolved (filter (n: resolved.${n} == null) (attrNames resolved));

  combine =
    a: b:
    if a == null then
      b
    else if b == null then
      a
    else if isList a && isList b then
      a ++ b
    else if isAttrs a && isAttrs b then
      a // mapAttrs (n: v: if a ? ${n} then combine a.${n} v else v) b
    else
      throw "conflicting definitions: ${builtins.toJSON a} and ${builtins.toJSON b}";

  definitions = resolve evaluated.config;

  # Every option the module declares, by path, with its description and default (as JSON can carry them).
  optionList =
    decls: path:
    concatMap (
      name:
      let
        d = decls.${name};
        here = path ++ [ name ];
      in
      if isOption d then
        [
          {
            path = builtins.concatStringsSep "." here;
            type = d.type.name;
            description = d.description or null;
            hasDefault = d ? default;
          }
        ]
      else
        optionList d here
    ) (attrNames decls);
in
{
  inherit config;
  options = optionList declared prefix;
  definitions = if definitions == null then { } else definitions;
  failedAssertions = map (a: a.message) (filter (a: !a.assertion) (definitions.assertions or [ ]));
}
