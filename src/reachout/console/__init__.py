"""The admin web console (seeds 002 and 000 in a browser): served by `reachout serve` under
/console/, a layer above the providers like the CLI. Pages are rendered on the server; every change
goes through an API operation dispatched in-process (console/operations.py)."""
