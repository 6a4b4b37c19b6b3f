{
  description = "signage-bot: Slack chat-ops that builds, copies and switches NixOS on the signage screens";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-26.05";

  outputs =
    { self, nixpkgs }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      # Built from builtins only, so the output names can be listed without evaluating nixpkgs.
      forAllSystems =
        f:
        builtins.listToAttrs (
          map (system: {
            name = system;
            value = f system;
          }) systems
        );
      pkgsFor = system: nixpkgs.legacyPackages.${system};
      packageFor = system: (pkgsFor system).callPackage ./nix/package.nix { };

      app = program: description: {
        type = "app";
        inherit program;
        meta.description = description;
      };
    in
    {
      overlays.default = final: _prev: { signage-bot = final.callPackage ./nix/package.nix { }; };

      packages = forAllSystems (system: {
        default = self.packages.${system}.signage-bot;
        signage-bot = packageFor system;
      });

      apps = forAllSystems (
        system:
        let
          pkg = self.packages.${system}.signage-bot;
          # `nix run .#deploy baard-entrance` runs `signage deploy baard-entrance`.
          deploy = (pkgsFor system).writeShellScript "signage-deploy" ''
            exec ${pkg}/bin/signage deploy "$@"
          '';
        in
        {
          default = app "${pkg}/bin/signage-bot" "Run the signage Slack bot";
          signage = app "${pkg}/bin/signage" "Run any signage verb from a terminal";
          deploy = app "${deploy}" "Deploy hosts from a terminal (signage deploy)";
        }
      );

      nixosModules = {
        default = ./nix/module.nix;
        signage-bot = ./nix/module.nix;
        # For every screen of the fleet: what the bot and the screen's peers need of it (docs/nixos.md).
        signage-host = ./nix/host-module.nix;
      };

      devShells = forAllSystems (system: {
        default =
          let
            pkgs = pkgsFor system;
          in
          pkgs.mkShell {
            packages = [
              pkgs.nodejs_24
              pkgs.nix
              pkgs.openssh
              pkgs.iproute2
              pkgs.util-linux
              pkgs.git
            ];
            # nodejs_24 comes from here; the `node` dev package must not download its own binary, which
            # would shadow it in npm scripts and cannot run on NixOS.
            npm_config_ignore_scripts = "true";
          };
      });

      checks = forAllSystems (system: {
        unit-tests = (pkgsFor system).callPackage ./nix/unit-tests.nix { };
        package = self.packages.${system}.signage-bot;
        module = import ./nix/module-check.nix {
          inherit nixpkgs system;
          module = self.nixosModules.default;
        };
        host-module = import ./nix/host-module-check.nix {
          inherit nixpkgs system;
          module = self.nixosModules.signage-host;
        };
      });

      formatter = forAllSystems (system: (pkgsFor system).nixfmt-tree);
    };
}
