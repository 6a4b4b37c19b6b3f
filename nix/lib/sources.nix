# Which files of the repository go where. Builtins only: package.nix and unit-tests.nix use it, and the
# tests check it against the code with plain Nix.
let
  # Glob patterns for a top-level name ("*" is any run of characters), as regular expressions.
  globToRegex = glob: builtins.replaceStrings [ "." "*" ] [ "\\." ".*" ] glob;
in
rec {
  # What runs: everything the package carries besides node_modules. Tests, benchmarks and docs stay out, so
  # editing them does not change the package.
  runtime = [
    "package.json"
    "package-lock.json"
    "bin"
    "src"
    "commands"
  ];

  # Commands of the package and the TypeScript file each runs.
  entryPoints = {
    signage = "bin/signage.ts";
    signage-bot = "src/main/bot.ts";
  };

  # Top-level names the unit-test check leaves out of its source: the installed dependencies (the check
  # installs its own), and what the tests never read, so that editing it does not rerun them.
  unitTestsExclude = [
    "node_modules"
    "docs"
    "nix"
    "flake.*"
    "result*"
  ];

  # Whether PATH, relative to the repository root, is left out of the unit-test check.
  excludedFromUnitTests =
    path:
    let
      top = builtins.head (builtins.split "/" path);
    in
    builtins.any (glob: builtins.match (globToRegex glob) top != null) unitTestsExclude;
}
