"""Connect, mirroring: a client's shared checks kept in sync in our Processr.

Definitions, list values and sync state; judged by the Connect check types of `leadgate.jobs`.
"""
