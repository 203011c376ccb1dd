/*
 * The harness's own copy of the engine's codec (core/src/wire.c), under fz_
 * names, for the codec work the harness does around the engine: emitting
 * each inbound segment (fz_input) and emitting and re-parsing each segment
 * the engine sent (the output-sanity oracle's round trip). The harness
 * library is built without fuzzer instrumentation (targets/CMakeLists.txt),
 * so this copy carries no coverage counters and no comparison tracing, which
 * were a tenth of a run in these calls; the sanitizers still check it. It is
 * the same source, compiled once more: the engine's own calls (sf_input's
 * parse, every segment it sends) still go through core/src/wire.c with full
 * instrumentation, and the single_packet target still fuzzes that codec.
 */
#define sf_csum_partial fz_csum_partial
#define sf_csum_fold fz_csum_fold
#define sf_tcp_checksum fz_tcp_checksum
#define sf_wire_strerror fz_wire_strerror_copy
#define sf_opts_decode fz_opts_decode
#define sf_opts_encode fz_opts_encode
#define sf_tcp_parse fz_tcp_parse
#define sf_wire_parse fz_wire_parse
#define sf_wire_length fz_wire_length
#define sf_wire_emit fz_wire_emit
#define sf_addr_eq fz_addr_eq_copy
#define sf_addr_is_any fz_addr_is_any_copy
#define sf_addr_parse fz_addr_parse_copy
#define sf_addr_format fz_addr_format_copy
#define sf_addr_v4 fz_addr_v4_copy

#include "../../core/src/wire.c"
