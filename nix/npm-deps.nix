# The project's npm dependencies as importNpmLock provides them: every tarball fetched by the integrity
# hash recorded in package-lock.json, so no separate dependency hash has to be maintained.
{
  lib,
  stdenv,
  importNpmLock,
  nodejs,
  # The registry base the tarball URLs are derived from; by default npm's own default registry, as the npm
  # bundled with `nodejs` defines it (reading it makes this evaluation depend on `nodejs` being built or
  # substituted first).
  npmRegistry ? import ./lib/npm-default-registry.nix "${nodejs}/lib/node_modules/npm/node_modules/@npmcli/config/lib/definitions/definitions.js",
  # false for the checks, which need the test tools; true for the package, which must not carry them.
  omitDev,
}:
let
  npmLock = import ./lib/npm-lock.nix;
  prepared = npmLock.prepare {
    registry = npmRegistry;
    platform = npmLock.npmPlatform stdenv.hostPlatform.system;
    inherit omitDev;
    package = lib.importJSON ../package.json;
    packageLock = lib.importJSON ../package-lock.json;
  };
in
importNpmLock {
  pname = if omitDev then "signage-bot-deps" else "signage-bot-dev-deps";
  version = prepared.package.version or "0.0.0";
  inherit (prepared) package packageLock;
}
