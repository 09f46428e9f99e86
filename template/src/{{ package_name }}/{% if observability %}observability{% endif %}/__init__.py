"""What the service reports beyond its logs and health checks, one module per answer."""
