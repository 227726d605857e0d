#!/bin/sh
# What the official postgres image does at start that deploy/docker-compose.yml relies on: a new data
# folder gets a cluster whose superuser is POSTGRES_USER (password POSTGRES_PASSWORD, required from other
# hosts) and a database POSTGRES_DB; then the server listens on every interface.
set -eu
BIN=/usr/lib/postgresql/15/bin
PGDATA=/var/lib/postgresql/data
user=${POSTGRES_USER:-postgres}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    pwfile=$(mktemp)
    printf '%s\n' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}" > "$pwfile"
    # UTF-8 as in the official image (a bare Debian root has no locale, and initdb would pick SQL_ASCII)
    "$BIN/initdb" -D "$PGDATA" -U "$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    db=${POSTGRES_DB:-$user}
    if [ "$db" != postgres ]; then
        "$BIN/pg_ctl" -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
        psql -v ON_ERROR_STOP=1 -U "$user" -d postgres -c "CREATE DATABASE \"$db\"" >/dev/null
        "$BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
    fi
fi
exec "$BIN/postgres" -D "$PGDATA" -c listen_addresses='*'
