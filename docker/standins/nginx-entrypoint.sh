#!/bin/sh
# As the official nginx image's entrypoint: run /docker-entrypoint.d/*.sh, then the command.
set -eu
for script in /docker-entrypoint.d/*.sh; do
  [ -e "$script" ] || continue
  echo "docker-entrypoint: running $script"
  sh "$script"
done
exec "$@"
