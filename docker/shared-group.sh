#!/bin/sh
# nginx reads the app's images (0640, group imagegen, gid 10001: see the Dockerfile) as a member of that
# group, never as "other" (the app runs with umask 027). The nginx image runs /docker-entrypoint.d scripts
# before nginx starts; its workers take their user's groups from /etc/group. Works with the official image
# (Alpine's busybox addgroup; workers run as nginx) and with a Debian-based one (groupadd/usermod; workers
# run as the build's default user, nobody or www-data): only users that exist in this container are changed.
set -eu
group="$(getent group 10001 | cut -d: -f1 || true)"
if [ -z "$group" ]; then
  if command -v groupadd >/dev/null 2>&1; then groupadd -r -g 10001 imagegen; else addgroup -S -g 10001 imagegen; fi
  group=imagegen
fi
for user in nginx www-data nobody; do
  id "$user" >/dev/null 2>&1 || continue
  if command -v usermod >/dev/null 2>&1; then usermod -a -G "$group" "$user"; else addgroup "$user" "$group"; fi
done
