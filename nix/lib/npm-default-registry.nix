# The registry npm itself uses when none is configured, read from the npm that ships with the Node.js the
# build uses (its config definitions). The lockfile carries no `resolved` URLs, so tarball URLs are derived
# from this base; reading it from npm keeps the build fetching exactly where `npm ci` would, and keeps any
# registry address out of this repository. Builtins only: testable without nixpkgs.
definitionsFile:
let
  content = builtins.readFile definitionsFile;
  parts = builtins.split "registry: new Definition\\('registry', \\{[[:space:]]*default: '([^']+)'" content;
  found = builtins.filter builtins.isList parts;
in
if found == [ ] then
  throw "cannot find npm's default registry in ${definitionsFile}; pass npmRegistry to the package explicitly"
else
  builtins.head (builtins.head found)
