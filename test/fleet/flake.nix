{
  description = "A test signage fleet: NixOS-shaped systems made with builtins.derivation alone (no nixpkgs)";

  # The simulated office writes fleet.json beside this file: the builder's system, the hosts, the revision
  # (bumping it is "a change" to deploy), a size scale, and optionally many small paths (`smallPaths`), so
  # tests can be quick and benchmarks realistic in bytes and in the number of paths.
  outputs =
    { self }:
    let
      fleet = builtins.fromJSON (builtins.readFile ./fleet.json);
      # `real`: the realistic fleet, real Debian packages' files (real.nix, real-content.json beside it).
      pkgs =
        if fleet.real or false then
          import ./real.nix { inherit (fleet) system scale revision; }
        else
          import ./packages.nix {
            inherit (fleet) system scale revision;
            kernel = fleet.kernel or "6.6.51";
            smallPaths = fleet.smallPaths or 0;
          };
      mkHost = import ./host.nix {
        inherit (fleet) system scale revision;
        inherit pkgs;
      };
    in
    {
      nixosConfigurations = builtins.listToAttrs (
        map (h: {
          name = h.name;
          value = mkHost h;
        }) fleet.hosts
      );
    };
}
