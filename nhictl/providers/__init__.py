"""One package per cloud: collect live, load snapshot files into the common model, mint/revoke JIT credentials."""
