#!/usr/bin/env bash
# `make image-test`: build deploy/Dockerfile with podman and run it: `citebot demo`, then `citebot serve
# --http` answering /healthz, then SIGTERM. No registry for base images is reachable on our machines, so
# the base is Debian bookworm (Python 3.11) made with debootstrap and `podman import`ed once; the CPU torch
# wheel pip finds here is put into the build context (deploy/wheels). Prints the build time and the image size.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=localhost/citebot-base:bookworm
IMAGE=localhost/citebot:image-test
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PORT=${CITEBOT_IMAGE_TEST_PORT:-3987}
# What `podman run` needs on our sandboxed machines (cgroup v1+v2 "hybrid" mounts, limits podman cannot
# raise): crun refuses hybrid cgroups, and `--cgroups=disabled` still fails in crun and is refused by
# runc, so runc with cgroupfs; podman raises nofile/nproc to its defaults, which is not permitted here,
# so the container gets lower ones.
RUN_FLAGS=(--runtime runc --cgroup-manager=cgroupfs --network host --ulimit nofile=4096:4096 --ulimit nproc=4096:4096)
say() { echo "image-test: $*" >&2; }

for tool in podman debootstrap runc; do
    command -v "$tool" >/dev/null || apt-get install -y -qq "$tool" >/dev/null \
        || { say "needs $tool: apt-get install $tool"; exit 1; }
done

if ! podman image exists "$BASE"; then
    rootfs=$(mktemp -d /var/tmp/citebot-rootfs.XXXXXX)
    say "bootstrapping Debian bookworm into $rootfs (one time, a few minutes)"
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$rootfs" "$MIRROR" >/dev/null
    tar -C "$rootfs" -c . | podman import - "$BASE" >/dev/null
    rm -rf "$rootfs"
fi

# The CPU torch wheel: pip here is configured to find it locally; inside the build it could not.
.venv/bin/python -m pip download -q --no-deps "torch==2.13.0" -d deploy/wheels

started=$(date +%s)
# The host's CA bundle, so pip inside the build trusts what pip here trusts.
podman build --isolation chroot --network host -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
    --build-arg BASE="$BASE" --build-arg EMBED_MODEL=minilm -f deploy/Dockerfile -t "$IMAGE" .
built=$(( $(date +%s) - started ))
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")

volume=citebot-image-test-$$
name=citebot-image-test-$$
# The built image is removed afterwards (3 GB each run would pile up); the imported base is kept.
cleanup() {
    podman rm -f "$name" >/dev/null 2>&1 || true
    podman volume rm -f "$volume" >/dev/null 2>&1 || true
    podman rmi -f "$IMAGE" >/dev/null 2>&1 || true
    podman image prune -f >/dev/null 2>&1 || true
}
trap cleanup EXIT
podman volume create "$volume" >/dev/null

say "citebot demo inside the image"
podman run --rm "${RUN_FLAGS[@]}" -v "$volume:/data" "$IMAGE" demo

say "citebot serve --http inside the image"
podman run -d --name "$name" "${RUN_FLAGS[@]}" -v "$volume:/data" -e SLACK_SIGNING_SECRET=image-test \
    -e SLACK_CLIENT_ID=1.2 -e SLACK_CLIENT_SECRET=image-test "$IMAGE" serve --http --port "$PORT" >/dev/null
health=""
for _ in $(seq 120); do
    health=$(curl -fsS "http://127.0.0.1:$PORT/healthz" 2>/dev/null) && break
    sleep 1
done
[ -n "$health" ] || { podman logs "$name" >&2; say "/healthz never answered"; exit 1; }
say "/healthz: $health"
podman stop -t 40 "$name" >/dev/null
status=$(podman inspect --format '{{.State.ExitCode}}' "$name")
say "stopped with SIGTERM, exit status $status"
[ "$status" -eq 0 ] || { podman logs "$name" >&2; say "the server did not stop cleanly"; exit 1; }
printf '{"image": "%s", "build_seconds": %d, "image_bytes": %d, "healthz": %s}\n' "$IMAGE" "$built" "$size" "$health"
