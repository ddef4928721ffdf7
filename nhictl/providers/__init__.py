"""One package per cloud: collect live, load snapshots into the common model, mint/revoke JIT."""
