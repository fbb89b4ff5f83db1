"""elma365-cluster: an ELMA365 On-Premises HA cluster on existing servers, as Pulumi components."""
