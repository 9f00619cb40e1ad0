# Sourced by the scripts that run podman (scripts/image.sh, the deployment tests): podman's
# settings for a Debian 12 host, in a containers.conf named by CONTAINERS_CONF unless one is
# named already. runc, since podman's default crun fails on hosts with hybrid cgroups; open-file
# limits no higher than this shell's hard limit, since podman's default 1048576 may be above it.
if [ -z "${CONTAINERS_CONF:-}" ]; then
  CONTAINERS_CONF=$(mktemp -t lbmirror-containers.XXXXXX.conf)
  nofile=$(ulimit -Hn)
  [ "$nofile" = unlimited ] && nofile=1048576
  cat > "$CONTAINERS_CONF" << CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=32768:32768"]
[engine]
runtime = "runc"
CONF
  export CONTAINERS_CONF
fi
