"""Generated gRPC code for harcopa.v1 (do not edit; see scripts/gen_protos.py)."""
