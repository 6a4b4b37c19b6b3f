# One host's system: its own /etc and kiosk settings, and the toplevel with what nixos-rebuild checks for
# (`nixos-version`) and what it runs (`bin/switch-to-configuration`). The script does on a simulated host what
# NixOS's does for the bot's purposes: points /run/current-system at itself and records the call.
{
  system,
  scale,
  revision,
  pkgs,
}:
host:
let
  blob = import ./blob.nix { inherit system scale; };
  extras = if host.touch or false then [ pkgs.touch ] else [ ];
  systemPath = pkgs.systemPath extras;
  kioskConfig = blob {
    name = "kiosk-config-${host.name}";
    kib = 4;
    script = "echo ${host.url or "about:blank"} > $out/url";
  };
  etc = blob {
    name = "etc";
    kib = 60;
    deps = [
      systemPath
      pkgs.systemd
      kioskConfig
    ];
  };
  version = "26.05.${toString revision}.signage";
  toplevel = blob {
    name = "nixos-system-${host.name}-${version}";
    kib = 8;
    deps = [
      systemPath
      etc
      pkgs.linux
      pkgs.modules
      pkgs.firmware
      pkgs.kiosk
    ];
    script = ''
      echo ${version} > "$out/nixos-version"
      ln -s ${systemPath} "$out/sw"
      ln -s ${etc} "$out/etc"
      ln -s ${pkgs.linux} "$out/kernel"
      mkdir -p "$out/bin"
      cat > "$out/bin/switch-to-configuration" <<SCRIPT
      #!/bin/sh
      set -e
      case "\$1" in
        switch|test) ln -sfn $out /run/current-system ;;
        boot|dry-activate) ;;
        *) echo "usage: switch-to-configuration switch|boot|test|dry-activate" >&2; exit 100 ;;
      esac
      mkdir -p /run/signage-office
      echo "\$(date -u +%Y-%m-%dT%H:%M:%SZ) \$1 $out" >> /run/signage-office/switch.log
      SCRIPT
      chmod +x "$out/bin/switch-to-configuration"
    '';
  };
in
{
  config.system.build = { inherit toplevel; };
}
