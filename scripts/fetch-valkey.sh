#!/usr/bin/env bash
# Fetches Valkey 8 (a Redis >= 7.2 with WAITAOF) from Debian's
# bookworm-backports into .tmp/valkey, without touching the system's apt
# configuration or installed packages, and prints the server's path. The
# durability tests use it to prove `durability: { aof: true }` succeeding;
# the suite's own Redis (Debian bookworm's 7.0) cannot.
set -euo pipefail
cd "$(dirname "$0")/.."
dest="$PWD/.tmp/valkey"
server="$dest/root/usr/bin/valkey-server"
if [ -x "$server" ] && "$server" --version >/dev/null 2>&1; then
  echo "$server"
  exit 0
fi
rm -rf "$dest"
mkdir -p "$dest/apt/lists/partial" "$dest/apt/archives/partial" "$dest/root"
echo 'deb http://deb.debian.org/debian bookworm-backports main' >"$dest/apt/sources.list"
apt_opts=(
  -o "Dir::Etc::SourceList=$dest/apt/sources.list"
  -o "Dir::Etc::SourceParts=-"
  -o "Dir::State::Lists=$dest/apt/lists"
  -o "Dir::Cache::Archives=$dest/apt/archives"
  -o "APT::Get::List-Cleanup=0"
)
apt-get "${apt_opts[@]}" update -qq >&2
(cd "$dest/apt" && apt-get "${apt_opts[@]}" download valkey-server valkey-tools >&2)
for deb in "$dest"/apt/*.deb; do dpkg -x "$deb" "$dest/root"; done
"$server" --version >&2
echo "$server"
