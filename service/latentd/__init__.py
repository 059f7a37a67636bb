"""latentd: the Latent gRPC server."""

__version__ = "0.1.0"
