# The paths every signage host shares: a libc, libraries referencing each other, a kernel and its modules,
# firmware, fonts, a browser for kiosk mode, systemd, and the system-path that gathers them. Sizes are KiB at
# scale 1 and roughly those of a Raspberry Pi kiosk system.
{
  system,
  scale,
  revision,
  # The kernel's version: a new one makes every system need a reboot.
  kernel ? "6.6.51",
  smallPaths ? 0,
}:
let
  blob = import ./blob.nix { inherit system scale; };
  glibc = blob {
    name = "glibc-2.40-66";
    kib = 2400;
  };
  # Thirty small libraries, each referencing glibc and, like real ones, a couple of its predecessors.
  libNames = [
    "zlib-1.3.1"
    "libffi-3.4.6"
    "ncurses-6.5"
    "readline-8.2p13"
    "xz-5.6.3"
    "bzip2-1.0.8"
    "expat-2.6.4"
    "libpng-1.6.44"
    "freetype-2.13.3"
    "fontconfig-2.15.0"
    "pcre2-10.44"
    "libxml2-2.13.4"
    "sqlite-3.46.1"
    "libjpeg-turbo-3.0.4"
    "libwebp-1.4.0"
    "harfbuzz-10.0.1"
    "pixman-0.43.4"
    "cairo-1.18.2"
    "glib-2.82.1"
    "dbus-1.14.10"
    "libdrm-2.4.123"
    "mesa-24.2.6"
    "wayland-1.23.1"
    "libinput-1.26.2"
    "libxkbcommon-1.7.0"
    "alsa-lib-1.2.12"
    "pipewire-1.2.6"
    "nspr-4.36"
    "nss-3.101.2"
    "cups-2.4.11"
  ];
  libs = builtins.foldl' (
    acc: name:
    let
      i = builtins.length acc;
      earlier =
        if i < 2 then
          acc
        else
          [
            (builtins.elemAt acc (i - 1))
            (builtins.elemAt acc (i / 2))
          ];
    in
    acc
    ++ [
      (blob {
        inherit name;
        kib = 40 + 37 * i;
        deps = [ glibc ] ++ earlier;
      })
    ]
  ) [ ] libNames;
  lib = n: builtins.elemAt libs n;
  openssl = blob {
    name = "openssl-3.3.2";
    kib = 1600;
    deps = [
      glibc
      (lib 0)
    ];
  };
  fonts = blob {
    name = "noto-fonts-24.9.1";
    kib = 6000;
  };
  linux = blob {
    name = "linux-${kernel}-rpi";
    kib = 9000;
  };
  modules = blob {
    name = "linux-${kernel}-rpi-modules";
    kib = 6000;
    deps = [ linux ];
  };
  firmware = blob {
    name = "raspberrypi-firmware-1.20241008";
    kib = 8000;
  };
  systemd = blob {
    name = "systemd-256.8";
    kib = 3000;
    deps = [
      glibc
      openssl
      (lib 0)
      (lib 4)
      (lib 19)
    ];
  };
  # The kiosk browser updates with every revision too, as it does weekly on a real fleet: a large shared change.
  chromium = blob {
    name = "chromium-131.0.6778.${toString (84 + revision)}";
    kib = 20000;
    deps = [
      glibc
      openssl
      fonts
    ]
    ++ libs;
  };
  touch = blob {
    name = "libinput-touchscreen-quirks-1.2";
    kib = 300;
    deps = [ (lib 23) ];
  };
  # The kiosk application changes with every revision: the part of a change all hosts share.
  kiosk = blob {
    name = "signage-kiosk-1.${toString revision}";
    kib = 800;
    deps = [ chromium ];
  };
  # Many small paths (`smallPaths`, none by default), as a real system has one to three thousand: what grows
  # with the number of paths (questions about holdings, copy sessions) shows only with them. A quarter are
  # rebuilt with each revision, as a nixpkgs update rebuilds part of a system. Bundles of 100 keep each
  # derivation's list of dependencies short.
  small = builtins.genList (
    i:
    blob {
      name = "small-${toString i}${if i - (i / 4) * 4 == 0 then "-r${toString revision}" else ""}";
      kib = 1;
      deps = [ glibc ];
    }
  ) smallPaths;
  smallBundles = builtins.genList (
    k:
    blob {
      name = "small-bundle-${toString k}";
      kib = 1;
      deps = builtins.genList (j: builtins.elemAt small (k * 100 + j)) (
        let
          left = smallPaths - k * 100;
        in
        if left < 100 then left else 100
      );
    }
  ) ((smallPaths + 99) / 100);
  systemPath =
    extras:
    blob {
      name = "system-path";
      kib = 200;
      deps = [
        glibc
        openssl
        systemd
        chromium
        kiosk
      ]
      ++ libs
      ++ smallBundles
      ++ extras;
    };
in
{
  inherit
    glibc
    libs
    openssl
    fonts
    linux
    modules
    firmware
    systemd
    chromium
    touch
    kiosk
    systemPath
    ;
}
