#!/bin/bash -eu
# ClusterFuzzLite builds exactly what OSS-Fuzz builds.
exec "$SRC/synfin/tools/oss-fuzz/build.sh"
