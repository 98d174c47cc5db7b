"""harcopa: the HAR & CoPA formal reasoner as gRPC microservices (shared core package)."""

__version__ = "0.1.0"
