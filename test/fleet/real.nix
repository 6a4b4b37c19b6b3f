# The realistic fleet's packages: real Debian packages' files (test/office/real-content.ts writes
# real-content.json: per revision, the packages in dependency order, each split into parts). Each part copies
# its files from the unpacked package (the builder runs without a sandbox, see scripts/setup) and appends the
# store paths of the packages it depends on to every ELF file, as a build embeds the paths a binary links to;
# each package's index path lists its parts. A new version of a package thus rebuilds everything depending on
# it, and those rebuilds differ only in the store paths they embed.
{
  system,
  scale,
  revision,
}:
let
  content = builtins.fromJSON (builtins.readFile ./real-content.json);
  blob = import ./blob.nix { inherit system scale; };
  packages = content.revisions.${toString revision};
  build =
    done: p:
    let
      deps = map (d: done.${d}) p.deps;
      part =
        i:
        derivation {
          name = "${p.storeName}-part${toString i}";
          inherit system deps;
          inherit (p) tree;
          builder = "/bin/sh";
          PATH = "/usr/bin:/bin";
          files = builtins.concatStringsSep "\n" (builtins.elemAt p.parts i);
          elfs = builtins.concatStringsSep "\n" (builtins.elemAt p.elfs i);
          passAsFile = [
            "files"
            "elfs"
          ];
          args = [
            "-c"
            ''
              set -e
              mkdir -p "$out"
              if [ -s "$filesPath" ]; then
                tar -C "$tree" -cf - --no-recursion -T "$filesPath" | tar -C "$out" -xf -
              fi
              chmod -R u+w "$out"
              if [ -n "$deps" ]; then
                while IFS= read -r f || [ -n "$f" ]; do
                  # Regular files only: never through a link, which may point outside the output.
                  if [ -f "$out/$f" ] && [ ! -L "$out/$f" ]; then printf '\0NIX_RUNPATH=%s\0' "$deps" >> "$out/$f"; fi
                done < "$elfsPath"
                mkdir -p "$out/nix-support"
                for d in $deps; do echo "$d"; done > "$out/nix-support/runtime-deps"
              fi
            ''
          ];
        };
      parts = builtins.genList part (builtins.length p.parts);
      index = derivation {
        name = p.storeName;
        inherit system deps parts;
        builder = "/bin/sh";
        PATH = "/usr/bin:/bin";
        args = [
          "-c"
          ''
            set -e
            mkdir -p "$out"
            for x in $parts; do echo "$x"; done > "$out/parts"
            for d in $deps; do echo "$d"; done > "$out/deps"
          ''
        ];
      };
    in
    done // { ${p.name} = index; };
  byName = builtins.foldl' build { } packages;
  role = r: stand-in: if content.roles.${r} == null then stand-in else byName.${content.roles.${r}};
  linux = role "linux" (blob {
    name = "linux-6.1.0-rpi";
    kib = 64;
  });
  systemd = role "systemd" (blob {
    name = "systemd-252";
    kib = 64;
  });
in
{
  inherit linux systemd;
  modules = linux;
  firmware = blob {
    name = "raspberrypi-firmware-1.20241008";
    kib = 64;
  };
  # The kiosk application, new with every revision, on the browser when there is one.
  kiosk = blob {
    name = "signage-kiosk-1.${toString revision}";
    kib = 800;
    deps = if content.roles.kiosk == null then [ ] else [ byName.${content.roles.kiosk} ];
  };
  touch = role "touch" (blob {
    name = "libinput-touchscreen-quirks-1.2";
    kib = 300;
  });
  systemPath =
    extras:
    derivation {
      name = "system-path";
      inherit system;
      builder = "/bin/sh";
      PATH = "/usr/bin:/bin";
      packages = builtins.attrValues byName ++ extras;
      args = [
        "-c"
        "mkdir -p $out && for p in $packages; do echo $p; done > $out/packages"
      ];
    };
}
