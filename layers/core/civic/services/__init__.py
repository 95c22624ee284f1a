"""Use cases: typed inputs in, domain results or domain errors out, storage through the ports."""
