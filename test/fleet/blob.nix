# One store path: `kib` KiB of incompressible data plus a file naming each dependency, which is what makes
# Nix record the references (it scans outputs for the hashes of inputs).
{ system, scale }:
{
  name,
  kib,
  deps ? [ ],
  script ? "",
}:
derivation {
  inherit
    name
    system
    deps
    script
    ;
  builder = "/bin/sh";
  PATH = "/usr/bin:/bin";
  bytes = builtins.ceil (kib * 1024 * scale);
  args = [
    "-c"
    ''
      set -e
      mkdir -p "$out"
      head -c "$bytes" /dev/urandom > "$out/data"
      for d in $deps; do echo "$d" >> "$out/deps"; done
      eval "$script"
    ''
  ];
}
