#!/usr/bin/env bash
# `make image-test`: build deploy/Dockerfile with podman and run it: `citebot demo`, then `citebot serve
# --http` answering /healthz, then SIGTERM. The base image and podman's settings: scripts/podman_setup.sh.
# Prints the build time and the image size.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=localhost/citebot:image-test
PORT=${CITEBOT_IMAGE_TEST_PORT:-3987}
source scripts/podman_setup.sh

started=$(date +%s)
podman build "${BUILD_FLAGS[@]}" --build-arg BASE="$BASE" --build-arg EMBED_MODEL=minilm -f deploy/Dockerfile -t "$IMAGE" .
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
podman run --rm --network host -v "$volume:/data" "$IMAGE" demo

say "citebot serve --http inside the image"
podman run -d --name "$name" --network host -v "$volume:/data" -e SLACK_SIGNING_SECRET=image-test \
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
