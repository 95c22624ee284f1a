"""Local tooling: the embedded AWS (moto) stack, template deployment and the local gateway."""
