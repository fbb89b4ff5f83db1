"""The elma365-cluster policy pack (see README.md); the policies live in elma365_pack.py."""
