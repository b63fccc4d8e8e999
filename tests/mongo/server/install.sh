#!/bin/sh
# Installs the in-memory MongoDB wire-protocol server the mongo tests run
# against: CongoServer from @push.rocks/smartmongo, pinned in package.json.
# A plain `npm install` of that package fails (its dependency tree names
# versions the registry does not serve), so the package itself is fetched
# with `npm pack`, checked against the pinned integrity and unpacked, and
# only what its server imports is installed from package-lock.json.
# Idempotent: does nothing when the installed tree matches the pins.
set -eu

cd "$(dirname "$0")"

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "mongo test server: '$tool' not found; install Debian's nodejs and npm (make dev-deps)" >&2
    exit 1
  fi
done

pins=$(cat package.json package-lock.json | node -e '
  let s = ""; process.stdin.on("data", d => s += d).on("end", () =>
    console.log(require("crypto").createHash("sha256").update(s).digest("hex")));')
stamp=node_modules/.siphon-installed
entry=node_modules/@push.rocks/smartmongo/dist_ts/congodb/index.js
if [ -f "$stamp" ] && [ -f "$entry" ] && [ "$(cat "$stamp")" = "$pins" ]; then
  echo "mongo test server: already installed ($(pwd))"
  exit 0
fi

name=$(node -p 'require("./package.json").siphon.server')
version=$(node -p 'require("./package.json").siphon.version')
integrity=$(node -p 'require("./package.json").siphon.integrity')

echo "mongo test server: npm ci --ignore-scripts (server dependencies from package-lock.json)"
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "mongo test server: npm pack $name@$version"
(cd "$work" && npm pack --loglevel=error "$name@$version" >/dev/null)
tgz=$(ls "$work"/*.tgz)
got=$(node -e '
  const b = require("fs").readFileSync(process.argv[1]);
  console.log("sha512-" + require("crypto").createHash("sha512").update(b).digest("base64"));' "$tgz")
if [ "$got" != "$integrity" ]; then
  echo "mongo test server: $name@$version integrity mismatch: got $got, pinned $integrity" >&2
  exit 1
fi
dest=node_modules/$name
rm -rf "$dest"
mkdir -p "$dest"
tar -xzf "$tgz" -C "$dest" --strip-components=1

echo "mongo test server: checking that the server loads"
node -e 'import("./'"$entry"'").then(m => { if (typeof m.CongoServer !== "function") process.exit(1); })'
echo "$pins" >"$stamp"
echo "mongo test server: installed $name@$version in $(pwd)/node_modules"
