#!/bin/sh
# Container entry: run the service this image was built for (`python -m afo_${AFO_SERVICE}`).
# exec, so the Python process receives SIGTERM directly and drains.
set -eu
: "${AFO_SERVICE:?AFO_SERVICE is not set (build the image with --build-arg SERVICE=<service>)}"
module="afo_$(printf '%s' "${AFO_SERVICE}" | tr '-' '_')"
exec python -m "${module}" "$@"
