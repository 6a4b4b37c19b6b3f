# The unit tests (test/unit: pure code, no Nix, SSH or Slack needed) as a Nix check, run by Node.js 24 with
# the development dependencies the lockfile pins. CI=true makes a skipped test fail the check.
{
  lib,
  stdenv,
  buildNpmPackage,
  importNpmLock,
  nodejs_24,
}:
let
  root = ../.;
  sources = import ./lib/sources.nix;
  packageJson = lib.importJSON ../package.json;
  relative = path: lib.removePrefix "${toString root}/" (toString path);
in
buildNpmPackage {
  pname = "signage-bot-unit-tests";
  inherit (packageJson) version;

  src = lib.cleanSourceWith {
    name = "signage-bot-unit-test-source";
    src = lib.cleanSource root;
    filter = path: _type: !(sources.excludedFromUnitTests (relative path));
  };

  nodejs = nodejs_24;
  npmDeps = import ./npm-deps.nix {
    inherit lib stdenv importNpmLock;
    nodejs = nodejs_24;
    omitDev = false;
  };
  npmConfigHook = importNpmLock.npmConfigHook;
  # The `node` dev package's install script would download a Node binary; nodejs_24 runs the tests instead.
  npmFlags = [ "--ignore-scripts" ];
  dontNpmBuild = true;

  doCheck = true;
  checkPhase = ''
    runHook preCheck
    CI=true ${lib.getExe nodejs_24} node_modules/vitest/vitest.mjs run test/unit
    runHook postCheck
  '';

  # A check's output only records that it passed.
  installPhase = ''
    runHook preInstall
    touch "$out"
    runHook postInstall
  '';
}
