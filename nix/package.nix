# signage-bot as a Nix package: the TypeScript sources run directly by Node.js 24 (type stripping, no build
# step), with their production dependencies, and two commands: `signage` (the terminal verbs) and
# `signage-bot` (the Slack bot).
{
  lib,
  stdenv,
  buildNpmPackage,
  importNpmLock,
  makeWrapper,
  nodejs_24,
  nix,
  openssh,
}:
let
  root = ../.;
  sources = import ./lib/sources.nix;
  npmLock = import ./lib/npm-lock.nix;
  packageJson = lib.importJSON ../package.json;
  packageLock = lib.importJSON ../package-lock.json;
  app = "lib/signage-bot";
in
buildNpmPackage {
  pname = "signage-bot";
  inherit (packageJson) version;

  # Only what runs: edits to tests, benchmarks or docs leave the package as it is.
  src = lib.fileset.toSource {
    inherit root;
    fileset = lib.fileset.unions (map (p: lib.fileset.maybeMissing (root + "/${p}")) sources.runtime);
  };

  nodejs = nodejs_24;
  npmDeps = import ./npm-deps.nix {
    inherit lib stdenv importNpmLock;
    nodejs = nodejs_24;
    omitDev = true;
  };
  npmConfigHook = importNpmLock.npmConfigHook;
  # No install script runs: the `node` dev package would download a Node binary (nodejs_24 is used
  # instead), and ssh2/cpu-features fall back to pure JavaScript without their native builds.
  npmFlags = [ "--ignore-scripts" ];
  npmInstallFlags = [ "--omit=dev" ];
  dontNpmBuild = true;

  nativeBuildInputs = [ makeWrapper ];

  # Installed under lib/signage-bot rather than lib/node_modules/...: Node refuses to strip types from
  # files inside a node_modules directory.
  installPhase = ''
    runHook preInstall

    for entry in ${lib.escapeShellArgs (lib.attrValues sources.entryPoints)}; do
      if [ ! -f "$entry" ]; then
        echo "entry point $entry is missing from the source" >&2
        exit 1
      fi
    done

    # npm's record of the install names every tarball's store path; keeping it would keep them all alive.
    rm -f node_modules/.package-lock.json
    # So do the rewritten package.json and package-lock.json the npm hook installs with. Some versions of
    # importNpmLock's hook put the originals back only after this phase (and only under lib/node_modules).
    for manifest in package.json package-lock.json; do
      if [ -f ".$manifest.orig" ]; then mv ".$manifest.orig" "$manifest"; fi
    done

    mkdir -p "$out/${app}"
    for part in ${lib.escapeShellArgs sources.runtime} node_modules; do
      if [ -e "$part" ]; then cp -r "$part" "$out/${app}/"; fi
    done

    for dev in ${lib.escapeShellArgs (npmLock.devOnly packageLock)}; do
      if [ -e "$out/${app}/$dev" ]; then
        echo "development-only dependency $dev ended up in the package" >&2
        exit 1
      fi
    done

    ${lib.concatStrings (
      lib.mapAttrsToList (command: entry: ''
        makeWrapper ${lib.getExe nodejs_24} "$out/bin/${command}" \
          --add-flags "$out/${app}/${entry}" \
          --prefix PATH : ${lib.makeBinPath [ nix openssh ]}
      '') sources.entryPoints
    )}

    runHook postInstall
  '';

  meta = {
    inherit (packageJson) description;
    mainProgram = "signage";
    platforms = lib.platforms.linux;
  };
}
