"""A local Stellar network that runs the KALE farm and asset contracts, for rehearsals and tests."""
