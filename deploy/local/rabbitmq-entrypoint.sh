#!/bin/sh
# The official rabbitmq image's default user from RABBITMQ_DEFAULT_USER / RABBITMQ_DEFAULT_PASS, allowed
# to connect from other hosts (the default guest user may only connect from localhost).
# RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS is read by rabbitmq-server itself.
set -eu
conf=/var/lib/rabbitmq/compose.conf
{
    echo "default_user = ${RABBITMQ_DEFAULT_USER:-guest}"
    echo "default_pass = ${RABBITMQ_DEFAULT_PASS:-guest}"
    echo "loopback_users = none"
} > "$conf"
export RABBITMQ_CONFIG_FILE=$conf
exec rabbitmq-server
