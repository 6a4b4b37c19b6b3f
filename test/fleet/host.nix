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
  # As on a host with services.signage-host: the boot guard's unit, which the bot looks for before `boot`.
  etc = blob {
    name = "etc";
    kib = 60;
    deps = [
      systemPath
      pkgs.systemd
      kioskConfig
    ];
    script = "mkdir -p $out/systemd/system && echo '[Service]' > $out/systemd/system/signage-boot-guard.service";
  };
  version = "26.05.${toString revision}.signage";
  # A system that fails the way screens fail, chosen per host and revision in fleet.json (`faults`): the kiosk
  # does not start, sshd does not come back, the network goes down, or activation hangs. The undoing comes
  # from the previous system's activation, which brings the link and sshd up again.
  fault = (host.faults or { }).${toString revision} or "none";
  faultScript =
    {
      none = "";
      kiosk = "rm -f \"$o/active/display-manager.service\"; echo 'display-manager.service: main process exited' >&2";
      # sshd crashes and takes every session with it, this activation's own included.
      sshd = "(setsid signage-office-host sshd-down </dev/null >/dev/null 2>&1 &); sleep 5";
      network = "(sleep 1; signage-office-host link-down) </dev/null >/dev/null 2>&1 &";
      hang = "sleep 100000";
      # The system itself does not build, or does not evaluate: the bot never gets as far as the host.
      build = "";
      eval = "";
    }
    .${fault};
  evaluated = if fault == "eval" then throw "${host.name}: kiosk.url is not a URL" else toplevel;
  toplevel = blob {
    name = "nixos-system-${host.name}-${version}${if fault == "none" then "" else "-${fault}"}";
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
      ${if fault == "build" then "echo 'kiosk.conf: no such option' >&2; exit 1" else ""}
      echo ${version} > "$out/nixos-version"
      ln -s ${systemPath} "$out/sw"
      ln -s ${etc} "$out/etc"
      ln -s ${pkgs.linux} "$out/kernel"
      ln -s ${pkgs.modules} "$out/kernel-modules"
      ln -s ${pkgs.firmware} "$out/firmware"
      mkdir -p "$out/bin"
      cat > "$out/bin/switch-to-configuration" <<'STC'
      #!/bin/sh
      # test: activate (point /run/current-system here, bring up the host's link and sshd, start the kiosk);
      # boot: make this the boot default (a file in the host's persistent /nix); switch: both.
      o=/run/signage-office
      case "$1" in
        switch|boot|test|dry-activate) ;;
        *) echo "usage: switch-to-configuration switch|boot|test|dry-activate" >&2; exit 100 ;;
      esac
      mkdir -p "$o/active"
      echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $1 @out@" >> "$o/switch.log"
      if [ "$1" = test ] || [ "$1" = switch ]; then
        ln -sfn @out@ /run/current-system
        if command -v signage-office-host >/dev/null; then signage-office-host up; fi
        touch "$o/active/display-manager.service"
        ${faultScript}
      fi
      if [ "$1" = boot ] || [ "$1" = switch ]; then
        mkdir -p /nix/var/signage-office
        ln -sfn @out@ /nix/var/signage-office/boot-default
      fi
      exit 0
      STC
      sed -i "s|@out@|$out|g" "$out/bin/switch-to-configuration"
      chmod +x "$out/bin/switch-to-configuration"
    '';
  };
in
{
  config.system.build.toplevel = evaluated;
  # Every NixOS configuration has its package set as `.pkgs`; the bot builds `pkgs.zstd` for deltas.
  pkgs = {
    zstd = import ./zstd.nix { inherit system; };
  };
}
