# The boot guard of services.signage-host, run by its unit at every boot (docs/nixos.md, "The boot guard").
# The same text as BOOT_GUARD_SCRIPT in src/core/activation-sequence.ts; test/unit/boot-path.test.ts checks it.
d=/nix/var/signage-boot; p=/nix/var/nix/profiles/system
if [ ! -f "$d/pending" ]; then
  [ "$1" = now ] && { echo "nothing to revert: no boot is pending on this host"; exit 3; }
  exit 0
fi
new=$(sed -n 2p "$d/pending"); secs=$(sed -n 3p "$d/pending")
case "$secs" in ""|*[!0-9]*) secs=300 ;; esac
if [ "$1" != now ] && [ "$(readlink /run/booted-system)" = "$new" ]; then
  echo "booted $new: waiting up to $secs s for its confirmation"
  i=0
  while [ "$i" -lt "$secs" ] && [ -f "$d/pending" ]; do sleep 1; i=$((i + 1)); done
fi
mv "$d/pending" "$d/reverting" 2>/dev/null || { echo "confirmed in time"; exit 0; }
prev=$(sed -n 1p "$d/reverting")
ok=1
if [ -n "$prev" ]; then
  { [ "$(readlink -f "$p")" = "$prev" ] || nix-env -p "$p" --set "$prev"; } &&
    "$prev/bin/switch-to-configuration" boot || ok=0
fi
if [ $ok = 1 ]; then echo "reverted $new $prev" > "$d/outcome"; else echo "revert-failed $new $prev" > "$d/outcome"; fi
rm -f "$d/reverting"
if [ $ok = 1 ]; then echo "not confirmed: $prev is the boot default again"; else echo "not confirmed, and the revert failed" >&2; fi
if [ "$1" != now ] && [ $ok = 1 ] && [ -n "$prev" ] && [ "$(readlink /run/current-system)" = "$new" ]; then
  systemctl reboot
fi
[ $ok = 1 ]
