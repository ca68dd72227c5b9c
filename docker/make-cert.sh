#!/bin/sh
# First start: a self-signed certificate unless one is mounted at /etc/nginx/certs (the nginx image runs the
# scripts in /docker-entrypoint.d before nginx starts).
set -eu
dir=/etc/nginx/certs
if [ ! -s "$dir/tls.crt" ] || [ ! -s "$dir/tls.key" ]; then
  command -v openssl >/dev/null || apk add --no-cache openssl >/dev/null
  mkdir -p "$dir"
  openssl req -x509 -nodes -newkey rsa:2048 -days 825 -subj "/CN=${SERVER_NAME:-localhost}" \
    -addext "subjectAltName=DNS:${SERVER_NAME:-localhost}" \
    -keyout "$dir/tls.key" -out "$dir/tls.crt" 2>/dev/null
  echo "make-cert: created a self-signed certificate for ${SERVER_NAME:-localhost}"
fi
