# package.json and package-lock.json made ready for nixpkgs' importNpmLock.
#
# The lockfile is written without `resolved` URLs and importNpmLock fetches only entries that have one, so
# each entry the build installs gets the URL npm itself would fetch: REGISTRY/NAME/-/BASENAME-VERSION.tgz
# (BASENAME is NAME without its @scope/). "Installs" follows npm (arborist and npm-install-checks): not the
# root, workspace links or bundled packages; not an optional package whose os/cpu/libc rules exclude the
# target platform, nor what only such a package needs; with omitDev, no dev-only package (dropped from both
# files, so npm does not look for them). Entries that already have `resolved` keep it. Fetching exactly
# this set matters: a URL for a package npm skips would fetch it for nothing, and a missing one fails the
# offline install.
#
# Builtins only, so the tests can evaluate it with plain Nix, without nixpkgs.
let
  inherit (builtins)
    any
    attrNames
    concatMap
    concatStringsSep
    elem
    elemAt
    filter
    genList
    genericClosure
    groupBy
    hasAttr
    head
    isString
    length
    listToAttrs
    mapAttrs
    match
    removeAttrs
    sort
    split
    substring
    stringLength
    ;

  packagesOf =
    packageLock:
    let
      version = packageLock.lockfileVersion or null;
    in
    if version == null then
      throw "package-lock.json has no lockfileVersion; is it a package-lock.json written by npm?"
    else if version < 2 then
      throw "package-lock.json has lockfileVersion ${toString version} (npm 6), which is not supported: it does not record where each package goes in node_modules; write it again with npm 7 or later (npm install --package-lock-only)"
    else if !(packageLock ? packages) then
      throw "package-lock.json (lockfileVersion ${toString version}) has no `packages` section; write it again with npm install --package-lock-only"
    else
      packageLock.packages;

  # The package's real name: an aliased dependency (`"x": "npm:y@1"`) sits under its alias but records `name`.
  nameOf =
    key: entry:
    if entry ? name then
      entry.name
    else
      let
        found = match ".*node_modules/((@[^/]+/)?[^/]+)" key;
      in
      if found == null then throw "cannot tell the package name of the lockfile entry \"${key}\"" else head found;

  withoutTrailingSlashes =
    url:
    let
      found = match "(.*[^/])/*" url;
    in
    if found == null then throw "the npm registry base \"${url}\" is not a URL" else head found;

  tarballUrl =
    registry: name: version:
    let
      scoped = match "@[^/]+/(.+)" name;
      basename = if scoped == null then name else head scoped;
    in
    "${withoutTrailingSlashes registry}/${name}/-/${basename}-${version}.tgz";

  # npm's words for the platform of a Nix system double. Linux means glibc here; a musl build passes its
  # platform to `prepare` itself.
  npmPlatform =
    system:
    let
      parts = match "([^-]+)-(.+)" system;
      cpus = {
        x86_64 = "x64";
        i686 = "ia32";
        aarch64 = "arm64";
        armv6l = "arm";
        armv7l = "arm";
        riscv64 = "riscv64";
        powerpc64le = "ppc64";
        s390x = "s390x";
        loongarch64 = "loong64";
        mips64el = "mips64el";
      };
      oses = [
        "linux"
        "darwin"
        "freebsd"
        "openbsd"
        "netbsd"
      ];
      cpu = head parts;
      os = elemAt parts 1;
    in
    if parts == null || !(hasAttr cpu cpus) || !(elem os oses) then
      throw "no npm platform is known for the Nix system \"${system}\"; pass platform = { os, cpu, libc } to prepare"
    else
      {
        inherit os;
        cpu = cpus.${cpu};
        libc = if os == "linux" then "glibc" else null;
      };

  # npm-install-checks' checkList: ["any"] allows everything; otherwise the value must match none of the
  # negated entries ("!x") and, if any positive entries are present, at least one of them.
  allowedBy =
    value: rule:
    let
      list = if isString rule then [ rule ] else rule;
      negated = filter (e: substring 0 1 e == "!") list;
      positive = filter (e: substring 0 1 e != "!") list;
    in
    if list == [ "any" ] then
      true
    else if any (e: substring 1 (stringLength e) e == value) negated then
      false
    else
      elem value positive || length negated == length list;

  # npm-install-checks' checkPlatform. A package that names a libc never fits a platform without one (npm
  # knows a libc only on Linux).
  fitsPlatform =
    platform: entry:
    (!(entry ? os) || allowedBy platform.os entry.os)
    && (!(entry ? cpu) || allowedBy platform.cpu entry.cpu)
    && (!(entry ? libc) || ((platform.libc or null) != null && allowedBy platform.libc entry.libc));

  isDev = entry: entry.dev or false;
  isLink = entry: entry.link or false;

  # Where Node (and so npm's tree) finds `name` when required from the package at `key`: the nearest
  # node_modules/name up the directory tree.
  resolve =
    packages: key: name:
    let
      segments = if key == "" then [ ] else filter isString (split "/" key);
      count = length segments;
      # Node does not look for node_modules/node_modules/NAME.
      candidate =
        n:
        if n == 0 then
          "node_modules/${name}"
        else if elemAt segments (n - 1) == "node_modules" then
          null
        else
          "${concatStringsSep "/" (genList (elemAt segments) n)}/node_modules/${name}";
      found = filter (c: c != null && packages ? ${c}) (genList (i: candidate (count - i)) (count + 1));
    in
    if found == [ ] then null else head found;

  # The dependency edges out of one entry, as arborist draws them: dev dependencies count only for the root
  # and workspaces; a name in optionalDependencies is optional even when also listed in dependencies; a peer
  # is optional when peerDependenciesMeta says so. A workspace link depends on its target folder.
  edgesOf =
    packages: key: entry:
    let
      names = attr: attrNames (entry.${attr} or { });
      optionalNames = names "optionalDependencies";
      topLevel = match "(.*/)?node_modules/.*" key == null;
      declared =
        map (n: {
          name = n;
          optional = elem n optionalNames;
        }) (names "dependencies")
        ++ map (n: {
          name = n;
          optional = true;
        }) optionalNames
        ++ map (n: {
          name = n;
          optional = entry.peerDependenciesMeta.${n}.optional or false;
        }) (names "peerDependencies")
        ++ (
          if topLevel then
            map (n: {
              name = n;
              optional = false;
            }) (names "devDependencies")
          else
            [ ]
        );
      resolved = map (d: {
        from = key;
        to = resolve packages key d.name;
        inherit (d) optional;
      }) declared;
      linkTarget =
        if isLink entry && entry ? resolved && packages ? ${entry.resolved} then
          [
            {
              from = key;
              to = entry.resolved;
              optional = false;
            }
          ]
        else
          [ ];
    in
    filter (e: e.to != null) (if isLink entry then linkTarget else resolved);

  # The lock's entries npm puts into node_modules on `platform`, dev-only ones included (attrset of keys).
  #
  # Arborist marks an optional package that does not fit the platform inert, together with everything that
  # needs it through a non-optional edge (its optional set); what only those need is then left out too.
  # That is the same as: whatever is reachable from the root without passing through the inert set.
  installedSet =
    { platform, packageLock }:
    let
      packages = packagesOf packageLock;
      keys = attrNames packages;
      edges = concatMap (k: edgesOf packages k packages.${k}) keys;
      edgesFrom = groupBy (e: e.from) edges;
      requiredEdgesInto = groupBy (e: e.to) (filter (e: !e.optional) edges);
      misfits = filter (k: k != "" && !isLink packages.${k} && !fitsPlatform platform packages.${k}) keys;
      # npm skips only optional misfits; it refuses the others (prepare says so before the build does).
      skipped = filter (k: packages.${k}.optional or false) misfits;
      refused = filter (k: !(packages.${k}.optional or false)) misfits;
      inert = genericClosure {
        startSet = map (k: { key = k; }) skipped;
        operator = item: map (e: { key = e.from; }) (requiredEdgesInto.${item.key} or [ ]);
      };
      inertKeys = listToAttrs (
        map (i: {
          name = i.key;
          value = true;
        }) inert
      );
      reachable = genericClosure {
        startSet = [ { key = ""; } ];
        operator =
          item:
          map (e: { key = e.to; }) (filter (e: !(inertKeys ? ${e.to})) (edgesFrom.${item.key} or [ ]));
      };
    in
    if inertKeys ? "" then
      throw "package-lock.json is inconsistent: the root needs a package that cannot be installed on ${platform.os}/${platform.cpu}"
    else
      {
        inherit refused;
        installed = listToAttrs (
          map (i: {
            name = i.key;
            value = true;
          }) (filter (i: i.key != "") reachable)
        );
      };

  installed =
    args:
    let
      result = installedSet args;
    in
    sort (a: b: a < b) (attrNames result.installed);

  devOnly =
    packageLock:
    let
      packages = packagesOf packageLock;
    in
    sort (a: b: a < b) (filter (k: k != "" && isDev packages.${k}) (attrNames packages));

  # Whether npm will fetch the entry's tarball, so that it needs a URL.
  needsTarballIn =
    installedKeys: omitDev: key: entry:
    key != ""
    && installedKeys ? ${key}
    && !isLink entry
    && !(entry.inBundle or false)
    && !(entry ? resolved)
    && !(omitDev && isDev entry);

  needsTarball =
    {
      platform,
      omitDev,
      packageLock,
    }:
    let
      result = installedSet { inherit platform packageLock; };
      packages = packagesOf packageLock;
    in
    key: packages ? ${key} && needsTarballIn result.installed omitDev key packages.${key};

  prepare =
    {
      registry,
      platform,
      omitDev,
      package,
      packageLock,
    }:
    let
      packages = packagesOf packageLock;
      result = installedSet { inherit platform packageLock; };
      # npm refuses a package that does not fit the platform unless it is optional; say which one now
      # rather than leave it to npm inside the build.
      refusedHere = filter (k: result.installed ? ${k} && !(omitDev && isDev packages.${k})) result.refused;
      kept = if omitDev then removeAttrs packages (devOnly packageLock) else packages;
      withUrl =
        key: entry:
        if needsTarballIn result.installed omitDev key entry then
          if entry ? version then
            entry // { resolved = tarballUrl registry (nameOf key entry) entry.version; }
          else
            throw "package-lock.json entry \"${key}\" has no version, so its tarball URL cannot be derived"
        else
          entry;
      withoutDev = entry: if omitDev then removeAttrs entry [ "devDependencies" ] else entry;
      preparedPackages = mapAttrs (key: entry: withUrl key (if key == "" then withoutDev entry else entry)) kept;
    in
    if refusedHere != [ ] then
      throw "npm would refuse to install ${head refusedHere} on ${platform.os}/${platform.cpu}: it is not optional and its os/cpu/libc rules exclude this platform"
    else
      {
        package = withoutDev package;
        packageLock = packageLock // {
          packages = preparedPackages;
        };
      };
in
{
  inherit
    prepare
    npmPlatform
    devOnly
    nameOf
    tarballUrl
    fitsPlatform
    needsTarball
    installed
    ;
}
