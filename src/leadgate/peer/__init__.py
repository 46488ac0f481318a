"""Connect, the peer side that mirrors and deliveries share.

The client of another instance, signed inbound events, remote errors, dropdown options.
"""
