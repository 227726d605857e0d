# Sourced by image_test.sh and compose_test.sh (from the repository root): podman set up for our
# sandboxed machines, the Debian base image, and the CPU torch wheel in the build context.
# No registry for base images is reachable there, so the base is Debian bookworm (Python 3.11) made with
# debootstrap and `podman import`ed once; the CPU torch wheel pip finds here is put into deploy/wheels
# (pip inside the build could not see it and would fetch a multi-GB CUDA build).
BASE=${CITEBOT_BASE_IMAGE:-localhost/citebot-base:bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
export CONTAINERS_CONF="$PWD/scripts/podman-sandbox.conf"
# The host's CA bundle, so pip inside a build trusts what pip here trusts.
BUILD_FLAGS=(--isolation chroot --network host -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro)
say() { echo "$(basename "$0" .sh): $*" >&2; }

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

.venv/bin/python -m pip download -q --no-deps "torch==2.13.0" -d deploy/wheels
