# The engines of deploy/docker-compose.yml (PostgreSQL, Redis, RabbitMQ, nginx) built from Debian's
# packages, for hosts that reach no registry of base images (our CI machines): deploy/compose.local.yml
# builds one target of this file per service on the debootstrapped base of `make image-test`. Each
# target keeps what the compose file relies on in the official image: the same environment variables,
# paths, ports and health-check commands. Real deployments use the official images.
ARG BASE=debian:bookworm-slim

FROM ${BASE} AS debian
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends ca-certificates >/dev/null

FROM debian AS postgres
# No packaged cluster (it would take port 5432 in Debian's client wrappers): the entrypoint makes its own.
RUN apt-get install -y -qq --no-install-recommends postgresql-common >/dev/null \
    && sed -i 's/^#* *create_main_cluster.*/create_main_cluster = false/' /etc/postgresql-common/createcluster.conf \
    && apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null && rm -rf /var/lib/apt/lists/* \
    && install -d -o postgres -g postgres /var/lib/postgresql/data
COPY deploy/local/postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint
USER postgres
VOLUME ["/var/lib/postgresql/data"]
EXPOSE 5432
ENTRYPOINT ["postgres-entrypoint"]

FROM debian AS redis
RUN apt-get install -y -qq --no-install-recommends redis-server >/dev/null && rm -rf /var/lib/apt/lists/*
USER redis
EXPOSE 6379
# As the official image: no config file, so no password and every interface; nothing kept on disk.
CMD ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--save", ""]

FROM debian AS rabbitmq
RUN apt-get install -y -qq --no-install-recommends rabbitmq-server >/dev/null && rm -rf /var/lib/apt/lists/*
COPY deploy/local/rabbitmq-entrypoint.sh /usr/local/bin/rabbitmq-entrypoint
USER rabbitmq
EXPOSE 5672
ENTRYPOINT ["rabbitmq-entrypoint"]

FROM debian AS nginx
RUN apt-get install -y -qq --no-install-recommends nginx >/dev/null && rm -rf /var/lib/apt/lists/* \
    && rm /etc/nginx/sites-enabled/default
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
