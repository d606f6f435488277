"""The contracts the devnet runs natively: the KALE farm and the Stellar Asset Contract."""
