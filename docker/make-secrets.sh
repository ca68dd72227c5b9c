#!/bin/sh
# Creates docker/secrets/ (or $IMAGEGEN_SECRETS_DIR) with a random SECRET_KEY and database password, and empty files to fill in
# (the VolcEngine keys, an Ark API key, the SMTP password). Existing files are kept. The files are readable by the containers' imagegen group (gid
# 10001) and nobody else.
set -eu
dir="${IMAGEGEN_SECRETS_DIR:-$(dirname "$0")/secrets}"
mkdir -p "$dir"
chmod 0750 "$dir"
umask 027
for name in secret_key postgres_password; do
  [ -s "$dir/$name" ] || head -c 48 /dev/urandom | base64 | tr -d '\n/+=' > "$dir/$name"
done
for name in volc_accesskey volc_secretkey ark_api_key email_host_password; do
  [ -e "$dir/$name" ] || : > "$dir/$name"
done
chgrp 10001 "$dir" "$dir"/* 2>/dev/null || echo "make-secrets: run as root (or chgrp 10001 docker/secrets/*) so the containers can read them"
echo "make-secrets: secrets in $dir; write the VolcEngine keys into volc_accesskey and volc_secretkey (an Ark key into ark_api_key, an SMTP password into email_host_password)"
