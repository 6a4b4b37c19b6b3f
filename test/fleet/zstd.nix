# The fleet's zstd, as `nixosConfigurations.<host>.pkgs.zstd` is on a real NixOS configuration: the bot builds
# it and sends its closure to a screen that lacks it, and the screen rebuilds delta-coded NARs with it. Here it
# is the machine's own /usr/bin/zstd in a store path (office builds run without a sandbox; the simulated hosts
# share the machine's /usr, so its libraries are there). Independent of the revision, like a nixpkgs zstd
# between two deploys of the same nixpkgs.
{ system }:
derivation {
  name = "zstd-1.5.4";
  inherit system;
  builder = "/bin/sh";
  PATH = "/usr/bin:/bin";
  args = [
    "-c"
    ''
      set -e
      mkdir -p "$out/bin"
      cp /usr/bin/zstd "$out/bin/zstd"
      chmod 555 "$out/bin/zstd"
    ''
  ];
}
